/** float64 NLL of each row's label under softmax(logits row); 0 for labels >= V. */
export function nllRef(logits: ArrayLike<number>, labels: ArrayLike<number>, V: number): Float64Array {
  const out = new Float64Array(labels.length);
  for (let r = 0; r < labels.length; r++) {
    if (labels[r]! >= V) continue;
    let mx = -Infinity;
    for (let i = 0; i < V; i++) mx = Math.max(mx, logits[r * V + i]!);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(logits[r * V + i]! - mx);
    out[r] = Math.log(s) + mx - logits[r * V + labels[r]!]!;
  }
  return out;
}
