/**
 * float64 causal GQA attention (rows = B*T batch-major, q [rows, H*D], k/v [rows, KVH*D], query head h
 * uses kv head floor(h / (H/KVH)), scale 1/sqrt(D)), forward with logsumexp, and its backward from the
 * explicit softmax: dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(P dP)), dQ = s dS K, dK = s dS^T Q.
 */
export interface AttnShape {
  rows: number;
  seqLen: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Sliding window: query t sees keys t - window < j <= t (default: all j <= t). */
  window?: number | null;
}

/** Visits every (row i, head h) with the row of its first key (b0), its offsets and the softmax row P over its keys. */
function eachRow(
  q: ArrayLike<number>, k: ArrayLike<number>, s: AttnShape,
  fn: (i: number, h: number, b0: number, qo: number, kvo: number, p: Float64Array, lse: number) => void,
): void {
  const { rows, seqLen: T, heads: H, kvHeads: KVH, headDim: D } = s;
  const scale = 1 / Math.sqrt(D);
  for (let i = 0; i < rows; i++) {
    const t = i % T;
    const lo = s.window ? Math.max(0, t - s.window + 1) : 0;
    const b0 = i - t + lo; // the first key row it sees
    for (let h = 0; h < H; h++) {
      const kvo = Math.floor(h / (H / KVH)) * D;
      const qo = i * H * D + h * D;
      const sc = new Float64Array(t + 1 - lo);
      let m = -Infinity;
      for (let j = 0; j < sc.length; j++) {
        let d = 0;
        for (let e = 0; e < D; e++) d += q[qo + e]! * k[(b0 + j) * KVH * D + kvo + e]!;
        sc[j] = d * scale;
        m = Math.max(m, sc[j]!);
      }
      let z = 0;
      for (let j = 0; j < sc.length; j++) z += Math.exp(sc[j]! - m);
      const lse = m + Math.log(z);
      for (let j = 0; j < sc.length; j++) sc[j] = Math.exp(sc[j]! - lse);
      fn(i, h, b0, qo, kvo, sc, lse);
    }
  }
}

export function attentionRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, s: AttnShape,
): { o: Float64Array; lse: Float64Array } {
  const { rows, heads: H, kvHeads: KVH, headDim: D } = s;
  const o = new Float64Array(rows * H * D);
  const lseOut = new Float64Array(rows * H);
  eachRow(q, k, s, (i, h, b0, qo, kvo, p, lse) => {
    lseOut[i * H + h] = lse;
    for (let j = 0; j < p.length; j++) {
      for (let e = 0; e < D; e++) o[qo + e] += p[j]! * v[(b0 + j) * KVH * D + kvo + e]!;
    }
  });
  return { o, lse: lseOut };
}

export function attentionBackwardRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>, s: AttnShape,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { rows, heads: H, kvHeads: KVH, headDim: D } = s;
  const scale = 1 / Math.sqrt(D);
  const dq = new Float64Array(rows * H * D);
  const dk = new Float64Array(rows * KVH * D);
  const dv = new Float64Array(rows * KVH * D);
  eachRow(q, k, s, (_i, _h, b0, qo, kvo, p) => {
    const dp = new Float64Array(p.length);
    let rowsum = 0;
    for (let j = 0; j < p.length; j++) {
      const ko = (b0 + j) * KVH * D + kvo;
      let d = 0;
      for (let e = 0; e < D; e++) d += dO[qo + e]! * v[ko + e]!;
      dp[j] = d;
      rowsum += p[j]! * d;
    }
    for (let j = 0; j < p.length; j++) {
      const ko = (b0 + j) * KVH * D + kvo;
      const ds = p[j]! * (dp[j]! - rowsum);
      for (let e = 0; e < D; e++) {
        dv[ko + e] += p[j]! * dO[qo + e]!;
        dq[qo + e] += scale * ds * k[ko + e]!;
        dk[ko + e] += scale * ds * q[qo + e]!;
      }
    }
  });
  return { dq, dk, dv };
}
