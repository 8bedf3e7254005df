/** float64 SwiGLU forward h = silu(g) u and backward (dg, du). */
export function swigluRef(g: ArrayLike<number>, u: ArrayLike<number>): Float64Array {
  const h = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) h[i] = (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
  return h;
}

export function swigluBackwardRef(
  g: ArrayLike<number>, u: ArrayLike<number>, dh: ArrayLike<number>,
): { dg: Float64Array; du: Float64Array } {
  const dg = new Float64Array(g.length);
  const du = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const s = 1 / (1 + Math.exp(-g[i]!));
    dg[i] = dh[i]! * u[i]! * s * (1 + g[i]! * (1 - s));
    du[i] = dh[i]! * g[i]! * s;
  }
  return { dg, du };
}
