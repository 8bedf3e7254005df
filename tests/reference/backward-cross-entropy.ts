/** float64 mean next-token cross-entropy and its gradient w.r.t. the logits. */
export const IGNORE = 0xffffffff;

export function crossEntropyRef(
  z: ArrayLike<number>, labels: ArrayLike<number>, rows: number, vocab: number,
): { nllSum: number; count: number; loss: number; dz: Float64Array } {
  let count = 0;
  for (let r = 0; r < rows; r++) if (labels[r]! !== IGNORE && labels[r]! < vocab) count++;
  const dz = new Float64Array(rows * vocab);
  let nllSum = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels[r]!;
    if (label === IGNORE || label >= vocab) continue;
    let m = -Infinity;
    for (let i = 0; i < vocab; i++) m = Math.max(m, z[r * vocab + i]!);
    let s = 0;
    for (let i = 0; i < vocab; i++) s += Math.exp(z[r * vocab + i]! - m);
    const lse = m + Math.log(s);
    nllSum += lse - z[r * vocab + label]!;
    for (let i = 0; i < vocab; i++) {
      dz[r * vocab + i] = (Math.exp(z[r * vocab + i]! - lse) - (i === label ? 1 : 0)) / count;
    }
  }
  return { nllSum, count, loss: count ? nllSum / count : 0, dz };
}
