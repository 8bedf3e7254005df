/** float64 reference of the linear backward (y = x W^T, W[N, K]) and its Taylor score. */
export function linearBackwardRef(
  dy: ArrayLike<number>, w: ArrayLike<number>, x: ArrayLike<number>, M: number, N: number, K: number,
): { dx: Float64Array; dw: Float64Array; score: number } {
  const dx = new Float64Array(M * K);
  const dw = new Float64Array(N * K);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = dy[m * N + n]!;
      if (g === 0) continue;
      for (let k = 0; k < K; k++) {
        dx[m * K + k] += g * w[n * K + k]!;
        dw[n * K + k] += g * x[m * K + k]!;
      }
    }
  }
  return { dx, dw, score: taylorScore(w, dw) };
}

/** sum |W * G| in float64. */
export function taylorScore(w: ArrayLike<number>, g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += Math.abs(w[i]! * g[i]!);
  return s;
}

/** y[M, N] = x[M, K] W[N, K]^T in float64. */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = s;
    }
  }
  return y;
}
