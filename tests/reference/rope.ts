/** float64 inverse frequencies, HF `_compute_llama3_parameters` written out independently of src/. */
export function invFreqRef(
  D: number,
  theta: number,
  llama3?: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number },
): number[] {
  const base = Array.from({ length: D / 2 }, (_, i) => Math.pow(theta, -(2 * i) / D));
  if (!llama3) return base;
  const old = llama3.original_max_position_embeddings;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < old / llama3.high_freq_factor) return f;
    if (wavelen > old / llama3.low_freq_factor) return f / llama3.factor;
    const smooth = (old / wavelen - llama3.low_freq_factor) / (llama3.high_freq_factor - llama3.low_freq_factor);
    return (1 - smooth) * (f / llama3.factor) + smooth * f;
  });
}

/**
 * float64 HF LLaMA RoPE (rotate_half) of v [rows, heads*D], token r at position pos0 + r % T.
 * angle(pos, i) gives the rotation angle; cos/sin are float64.
 */
export function ropeRef(
  v: ArrayLike<number>,
  rows: number,
  T: number,
  heads: number,
  D: number,
  pos0: number,
  angle: (pos: number, i: number) => number,
): Float64Array {
  const out = Float64Array.from(v);
  const half = D / 2;
  for (let r = 0; r < rows; r++) {
    const pos = pos0 + (r % T);
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * D;
      for (let i = 0; i < half; i++) {
        const a = angle(pos, i);
        const x1 = v[o + i]!;
        const x2 = v[o + i + half]!;
        out[o + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        out[o + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
  }
  return out;
}
