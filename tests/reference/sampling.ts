/** Indices of the k best values (larger first, ties by smaller index; NaN as -inf). */
export function topkRef(row: ArrayLike<number>, k: number): number[] {
  const key = (i: number) => (Number.isNaN(row[i]!) ? -Infinity : row[i]!);
  const order = Array.from({ length: row.length }, (_, i) => i);
  order.sort((a, b) => key(b) - key(a) || a - b);
  return order.slice(0, k);
}

/** float64 log sum exp(row / temperature). */
export function logZRef(row: ArrayLike<number>, temperature: number): number {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i]! / temperature);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! / temperature - mx);
  return mx + Math.log(s);
}

/**
 * float64 draw from top-k candidates (best first, ids NO_TOKEN where missing) in Hugging Face warper
 * order: temperature, top-k renormalised among the kept logits (else normalised by logZ over the
 * vocabulary), top-p, then inverse CDF at u * (kept mass). Also returns the distance to the nearest
 * decision (nucleus size, CDF step) relative to the mass compared there: below f32's relative
 * error, an f32 draw may legitimately pick the neighbour.
 */
export function drawRef(
  values: ArrayLike<number>, ids: ArrayLike<number>, logZ: number,
  o: { temperature: number; topK?: number; topP?: number }, u: number,
): { id: number; margin: number } {
  let n = 0;
  while (n < ids.length && ids[n] !== 0xffffffff) n++;
  if (n === 0) return { id: 0xffffffff, margin: Infinity };
  if (!(o.temperature > 0) || n === 1) return { id: ids[0]!, margin: Infinity };
  const topK = o.topK && o.topK > 0 ? Math.min(o.topK, n) : 0;
  const keep = topK || n;
  const z = Array.from({ length: keep }, (_, i) => values[i]! / o.temperature);
  const logNorm = topK ? z[0]! + Math.log(z.reduce((s, v) => s + Math.exp(v - z[0]!), 0)) : logZ;
  const probs = z.map((v) => Math.exp(v - logNorm));
  let count = keep;
  let margin = Infinity;
  if ((o.topP ?? 1) < 1) {
    let mass = 0;
    count = 0;
    while (count < keep && (count === 0 || mass < o.topP!)) mass += probs[count++]!;
    // The nucleus would change size if its mass, or its mass before the last token, crossed topP.
    margin = Math.abs(mass - o.topP!) / o.topP!;
    if (count > 1) margin = Math.min(margin, Math.abs(mass - probs[count - 1]! - o.topP!) / o.topP!);
  }
  const total = probs.slice(0, count).reduce((a, b) => a + b, 0);
  let target = u * total;
  for (let i = 0; i < count; i++) {
    margin = Math.min(margin, Math.abs(target - probs[i]!) / total);
    target -= probs[i]!;
    if (target < 0) return { id: ids[i]!, margin };
  }
  return { id: ids[count - 1]!, margin };
}

/** float64 Hugging Face repetition penalty: logits of `seen` tokens divided by p (multiplied when negative). */
export function repetitionPenaltyRef(row: ArrayLike<number>, seen: Iterable<number>, p: number): Float64Array {
  const out = Float64Array.from(row);
  for (const id of new Set(seen)) out[id] = out[id]! < 0 ? out[id]! * p : out[id]! / p;
  return out;
}
