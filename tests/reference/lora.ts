/** float64 references of the LoRA kernels (shaders/lora.wgsl) and of AdamW (shaders/adamw.wgsl). */

/** dW[n, k] = acc[n, k] + sum_m dy[m, n] x[m, k]. */
export function weightGradRef(dy: ArrayLike<number>, x: ArrayLike<number>, M: number, N: number, K: number, acc?: ArrayLike<number>): Float64Array {
  const dw = acc ? Float64Array.from(acc) : new Float64Array(N * K);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) dw[n * K + k] += dy[m * N + n]! * x[m * K + k]!;
  return dw;
}

/** The shader's PCG hash in u32 arithmetic. */
export function pcgRef(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** Whether element i is kept: u(i) >= p with u(i) = (pcg(i ^ pcg(seed ^ salt)) >> 8) / 2^24. */
export function keepRef(i: number, seed: number, salt: number, p: number): boolean {
  const u = (pcgRef((i ^ pcgRef((seed ^ salt) >>> 0)) >>> 0) >>> 8) / 16777216;
  return u >= p;
}

export function dropoutRef(x: ArrayLike<number>, p: number, seed: number, salt: number, acc?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (keepRef(i, seed, salt, p) ? x[i]! / (1 - p) : 0) + (acc ? acc[i]! : 0);
  return y;
}

export interface AdamWRefState {
  w: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** torch.optim.AdamW step t (1-based) on float64 state, in place; grad is scaled by gradScale first. */
export function adamwRef(
  s: AdamWRefState,
  grad: ArrayLike<number>,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
  t: number,
  gradScale = 1,
): void {
  const bc1 = 1 - h.beta1 ** t;
  const sqrtBc2 = Math.sqrt(1 - h.beta2 ** t);
  for (let i = 0; i < s.w.length; i++) {
    const g = grad[i]! * gradScale;
    s.m[i] = h.beta1 * s.m[i]! + (1 - h.beta1) * g;
    s.v[i] = h.beta2 * s.v[i]! + (1 - h.beta2) * g * g;
    s.w[i] = s.w[i]! * (1 - h.lr * h.weightDecay) - (h.lr / bc1) * s.m[i]! / (Math.sqrt(s.v[i]!) / sqrtBc2 + h.eps);
  }
}

/** W + scale * B A in float64: W [N, K], A [r, K], B [N, r]. */
export function loraMergeRef(w: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, N: number, K: number, r: number, scale: number): Float64Array {
  const out = Float64Array.from(w);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
    let acc = 0;
    for (let j = 0; j < r; j++) acc += b[n * r + j]! * a[j * K + k]!;
    out[n * K + k]! += scale * acc;
  }
  return out;
}
