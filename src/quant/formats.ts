/**
 * The weight formats a model can be loaded in (one registry, read by the loader, the memory plan,
 * the CLI and the page), and the byte layout of the quantized ones.
 *
 * Quantized layout (q8, q4): symmetric, groups of 32 consecutive elements along a row (the input
 * dimension K of a linear weight [N, K]), one scale per group. Row n is self-contained, so row windows
 * of a large tensor bind like float rows:
 *   words [0, D)          the codes: q8 four signed bytes per u32 (element k in byte k % 4),
 *                         q4 eight signed nibbles per u32 (element k in bits 4 (k % 8) ..), D = G * bits
 *   words [D, D + G / 2)  the G = ceil(K / 32) group scales as f16 packed two per u32 (group 2j low half),
 *                         the lab's f16 storage, so no `shader-f16` is needed
 *   then zero words up to a multiple of 4 (rows stay 16-byte aligned for vec4 loads).
 * Element k of a group with scale s and code q is q * s; codes run over -Q..Q with Q = 2^(bits-1) - 1
 * (127, 7): s = f16(max |w| / Q), q = round(w / s) (halves to even); elements past K are code 0.
 * shaders/lib/quant.wgsl reads this layout, shaders/quantize.wgsl writes it, tests/reference/quant.ts
 * is its float64 reference.
 */
import { bytesPerElement, isQuantized, type QuantDType, type StorageDType } from '../gpu/tensor';

/** How the model's weights are held on the GPU: as stored (F16/BF16 as f16, F32 as loaded), or quantized. */
export type WeightFormat = 'float' | QuantDType;

export interface WeightFormatInfo {
  id: WeightFormat;
  label: string;
  /** One line for the page and the CLI. */
  hint: string;
}

export const WEIGHT_FORMATS: readonly WeightFormatInfo[] = [
  { id: 'float', label: 'F16 (as stored)', hint: 'weights as in the checkpoint: F16 and BF16 as f16, F32 as f32' },
  { id: 'q8', label: '8-bit (q8)', hint: 'block linears as 8-bit codes, groups of 32 with an f16 scale (8.5 bits a weight)' },
  { id: 'q4', label: '4-bit (q4)', hint: 'block linears as 4-bit codes, groups of 32 with an f16 scale (4.5 bits a weight)' },
];

export function isWeightFormat(value: unknown): value is WeightFormat {
  return WEIGHT_FORMATS.some((f) => f.id === value);
}

/** Elements per scale. */
export const QUANT_GROUP = 32;

/** Code bits of a quantized storage. */
export function quantBits(dtype: QuantDType): number {
  return dtype === 'q8' ? 8 : 4;
}

/** Largest code magnitude Q (codes run over -Q..Q). */
export function quantMax(dtype: QuantDType): number {
  return (1 << (quantBits(dtype) - 1)) - 1;
}

/** u32 words of one quantized row of `cols` elements: codes, scales, padding to a multiple of 4. */
export function quantRowWords(dtype: QuantDType, cols: number): number {
  const groups = Math.ceil(cols / QUANT_GROUP);
  return Math.ceil((groups * quantBits(dtype) + Math.ceil(groups / 2)) / 4) * 4;
}

/** Bytes of one row of `cols` elements in any storage (a float f16 row may end mid-word). */
export function weightRowBytes(dtype: StorageDType, cols: number): number {
  return isQuantized(dtype) ? quantRowWords(dtype, cols) * 4 : cols * bytesPerElement(dtype);
}

/** Bytes of a tensor of `shape` (2-D [rows, cols] for quantized storage) as its buffer holds it. */
export function weightBytes(dtype: StorageDType, shape: readonly number[]): number {
  if (!isQuantized(dtype)) return shape.reduce((a, b) => a * b, 1) * bytesPerElement(dtype);
  const cols = shape[shape.length - 1] ?? 1;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return rows * quantRowWords(dtype, cols) * 4;
}

/**
 * Which tensors a quantized format converts: the seven linear weights of every block, and with
 * `embeddings` also the token embedding and the LM head. Norms and biases never.
 */
export function quantizes(name: string, shape: readonly number[], embeddings: boolean): boolean {
  if (shape.length !== 2) return false;
  if (/^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/.test(name)) return true;
  return embeddings && (name === 'model.embed_tokens.weight' || name === 'lm_head.weight');
}

/** Override constants that select a weight storage in the kernels (lib/weight.wgsl, lib/quant.wgsl, linear.wgsl). */
export function weightConstants(dtype: StorageDType): { W_F16: boolean; W_Q: number } {
  return { W_F16: dtype === 'f16', W_Q: isQuantized(dtype) ? quantBits(dtype) : 0 };
}
