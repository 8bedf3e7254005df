/**
 * float64 RoPE (rotate_half, pairs i and i + D/2) over [rows, heads * D], position = row mod T.
 * The angle is the f32 product pos * inv_freq[i] (HF computes freqs in f32), cos/sin in f64.
 * sign = +1: forward rotation; sign = -1: the transpose (the backward).
 */
export function ropeRef(
  x: ArrayLike<number>, invFreq: ArrayLike<number>, rows: number, heads: number, headDim: number, seqLen: number, sign = 1,
): Float64Array {
  const half = headDim / 2;
  const y = new Float64Array(rows * heads * headDim);
  for (let r = 0; r < rows; r++) {
    const pos = r % seqLen;
    for (let h = 0; h < heads; h++) {
      const b = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = Math.fround(pos * invFreq[i]!);
        const c = Math.cos(a);
        const s = sign * Math.sin(a);
        const x1 = x[b + i]!;
        const x2 = x[b + i + half]!;
        y[b + i] = x1 * c - x2 * s;
        y[b + i + half] = x2 * c + x1 * s;
      }
    }
  }
  return y;
}

export function ropeBackwardRef(
  dy: ArrayLike<number>, invFreq: ArrayLike<number>, rows: number, heads: number, headDim: number, seqLen: number,
): Float64Array {
  return ropeRef(dy, invFreq, rows, heads, headDim, seqLen, -1);
}
