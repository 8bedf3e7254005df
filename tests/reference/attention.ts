/**
 * float64 causal GQA attention. q [B*T, H*D], k/v [B*S, KVH*D] hold S key positions per sequence
 * (S >= T); query t of sequence b sits at position S - T + t and sees keys 0 .. S - T + t (with a
 * sliding `window` W, only the last W of them: pos - W < j <= pos). Returns out [B*T, H*D].
 */
export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  B: number,
  T: number,
  S: number,
  H: number,
  KVH: number,
  D: number,
  window: number | null = null,
): Float64Array {
  const out = new Float64Array(B * T * H * D);
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const pos = S - T + t;
      const lo = window ? Math.max(0, pos - window + 1) : 0;
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / (H / KVH));
        const qo = (b * T + t) * H * D + h * D;
        let mx = -Infinity;
        for (let j = lo; j <= pos; j++) {
          const ko = (b * S + j) * KVH * D + g * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qo + d]! * k[ko + d]!;
          scores[j] = s * scale;
          mx = Math.max(mx, scores[j]!);
        }
        let sum = 0;
        for (let j = lo; j <= pos; j++) sum += (scores[j] = Math.exp(scores[j]! - mx));
        for (let j = lo; j <= pos; j++) {
          const vo = (b * S + j) * KVH * D + g * D;
          for (let d = 0; d < D; d++) out[qo + d] += (scores[j]! / sum) * v[vo + d]!;
        }
      }
    }
  }
  return out;
}
