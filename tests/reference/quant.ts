/**
 * float64 reference of the q8 / q4 weight formats (src/quant/formats.ts): quantize a float weight
 * [N, K] into the packed row layout, and the dequantized values the kernels must compute with.
 */
import type { QuantDType } from '../../src/gpu/tensor';
import { QUANT_GROUP, quantBits, quantMax, quantRowWords } from '../../src/quant/formats';
import { F16_MAX, f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';

/** Round half to even, as WGSL's round(). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface QuantizedRef {
  /** The packed rows, as the GPU buffer holds them. */
  words: Uint32Array;
  /** The dequantized weight [N, K] (code * scale). */
  values: Float64Array;
  /** f16 bits of every group's scale [N, G]. */
  scales: Uint16Array;
}

/** The group scale as f16 bits: max |w| / Q, capped at the largest f16. */
export function scaleBits(absMax: number, dtype: QuantDType): number {
  return f32ToF16Bits(Math.min(absMax / quantMax(dtype), F16_MAX));
}

/** The code of value v at scale s. */
export function codeOf(v: number, s: number, dtype: QuantDType): number {
  if (s === 0) return 0;
  const Q = quantMax(dtype);
  return Math.max(-Q, Math.min(Q, roundHalfEven(v / s)));
}

export function quantizeRef(w: ArrayLike<number>, N: number, K: number, dtype: QuantDType): QuantizedRef {
  const bits = quantBits(dtype);
  const groups = Math.ceil(K / QUANT_GROUP);
  const rowWords = quantRowWords(dtype, K);
  const words = new Uint32Array(N * rowWords);
  const values = new Float64Array(N * K);
  const scales = new Uint16Array(N * groups);
  const perWord = 32 / bits;
  for (let n = 0; n < N; n++) {
    const row = n * rowWords;
    for (let g = 0; g < groups; g++) {
      let absMax = 0;
      for (let k = g * QUANT_GROUP; k < Math.min(K, (g + 1) * QUANT_GROUP); k++) absMax = Math.max(absMax, Math.abs(w[n * K + k]!));
      const h = scaleBits(absMax, dtype);
      scales[n * groups + g] = h;
      const s = f16BitsToF32(h);
      words[row + groups * bits + (g >> 1)]! |= h << ((g & 1) * 16);
      for (let k = g * QUANT_GROUP; k < Math.min(K, (g + 1) * QUANT_GROUP); k++) {
        const c = codeOf(w[n * K + k]!, s, dtype);
        values[n * K + k] = c * s;
        const word = row + Math.floor(k / perWord);
        words[word] = (words[word]! | ((c & ((1 << bits) - 1)) << ((k % perWord) * bits))) >>> 0;
      }
    }
  }
  return { words, values, scales };
}
