/** float64 RMSNorm backward (y = x r w, r = 1/sqrt(mean(x^2) + eps)): dx, dw and the Taylor score. */
export function rmsnormBackwardRef(
  x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, rows: number, dim: number, eps: number,
): { dx: Float64Array; dw: Float64Array; score: number; cond: number } {
  const dx = new Float64Array(rows * dim);
  // dx = a - b with a = r w dy, b = x r^3 mean(x w dy): f32 rounds a and b, so the attainable
  // relative error of dx is ~ 2^-24 * cond with cond = || |a| + |b| || / || a - b || (large when
  // the two terms cancel, e.g. dim = 1 where dx = r w dy eps r^2).
  let termNorm = 0;
  let dxNorm = 0;
  const dw = new Float64Array(dim);
  for (let row = 0; row < rows; row++) {
    const b = row * dim;
    let ss = 0;
    let sxwdy = 0;
    for (let i = 0; i < dim; i++) {
      ss += x[b + i]! ** 2;
      sxwdy += x[b + i]! * w[i]! * dy[b + i]!;
    }
    const r = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) {
      const ta = r * w[i]! * dy[b + i]!;
      const tb = x[b + i]! * r * r * r * (sxwdy / dim);
      dx[b + i] = ta - tb;
      termNorm += (Math.abs(ta) + Math.abs(tb)) ** 2;
      dxNorm += (ta - tb) ** 2;
      dw[i] += dy[b + i]! * x[b + i]! * r;
    }
  }
  let score = 0;
  for (let i = 0; i < dim; i++) score += Math.abs(w[i]! * dw[i]!);
  return { dx, dw, score, cond: Math.sqrt(termNorm) / Math.sqrt(dxNorm || 1) };
}
