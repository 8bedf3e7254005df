/** float64 SiLU-gated product: h = silu(g) * u. */
export function swigluRef(g: ArrayLike<number>, u: ArrayLike<number>): Float64Array {
  const h = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) h[i] = (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
  return h;
}

export function addRef(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + y[i]!;
  return out;
}
