/**
 * Conversions from safetensors dtypes to the kernels' weight storage (src/gpu/tensor.ts): f32, or
 * f16 as raw little-endian halves (two per u32). All work on aligned chunks; the ones that can
 * overflow f16 report it (return false) so the loader can keep that tensor in f32.
 */
import type { FloatDType } from '../gpu/tensor';
import { F16_MAX, bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../util/f16';
import type { SafetensorsDType } from './safetensors';

export type ConversionMode = 'copy-f32' | 'copy-f16' | 'bf16-f16' | 'bf16-f32' | 'f16-f32' | 'f32-f16';

export const MODE_STORAGE: Record<ConversionMode, FloatDType> = {
  'copy-f32': 'f32',
  'copy-f16': 'f16',
  'bf16-f16': 'f16',
  'bf16-f32': 'f32',
  'f16-f32': 'f32',
  'f32-f16': 'f16',
};

/** What a mode falls back to when a value exceeds the f16 range. */
export const OVERFLOW_FALLBACK: Partial<Record<ConversionMode, ConversionMode>> = { 'bf16-f16': 'bf16-f32', 'f32-f16': 'copy-f32' };

export function chooseMode(dtype: SafetensorsDType, keepF32: boolean, f32Storage: FloatDType): ConversionMode {
  if (dtype === 'F32') return keepF32 || f32Storage === 'f32' ? 'copy-f32' : 'f32-f16';
  if (dtype === 'F16') return keepF32 ? 'f16-f32' : 'copy-f16';
  return keepF32 ? 'bf16-f32' : 'bf16-f16';
}

/** Output bytes per input byte. */
export function growth(mode: ConversionMode): number {
  return mode === 'bf16-f32' || mode === 'f16-f32' ? 2 : mode === 'f32-f16' ? 0.5 : 1;
}

let f16Table: Float32Array | undefined;
function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

/**
 * Converts `input` (whole elements, 4-byte aligned offset) into `output` (aligned, large enough).
 * Returns the output byte length, or -1 when a value does not fit f16 (nothing useful written).
 */
export function convertChunk(mode: ConversionMode, input: Uint8Array, output: Uint8Array): number {
  const n = input.byteLength;
  switch (mode) {
    case 'copy-f32':
    case 'copy-f16':
      output.set(input);
      return n;
    case 'bf16-f16':
      return bf16ToF16(u16(input), u16(output, n / 2)) ? n : -1;
    case 'bf16-f32': {
      const src = u16(input);
      const dst = new Uint32Array(output.buffer, output.byteOffset, src.length);
      for (let i = 0; i < src.length; i++) dst[i] = src[i]! << 16;
      return n * 2;
    }
    case 'f16-f32': {
      const src = u16(input);
      const dst = new Float32Array(output.buffer, output.byteOffset, src.length);
      const table = f16ToF32Table();
      for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
      return n * 2;
    }
    case 'f32-f16': {
      const src = new Float32Array(input.buffer, input.byteOffset, n / 4);
      const dst = u16(output, src.length);
      for (let i = 0; i < src.length; i++) {
        const x = src[i]!;
        if (Math.abs(x) > F16_MAX && Number.isFinite(x)) return -1;
        dst[i] = f32ToF16Bits(x);
      }
      return n / 2;
    }
  }
}

function u16(bytes: Uint8Array, count = bytes.byteLength / 2): Uint16Array {
  return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
}

/** bfloat16 -> f16 bits, round to nearest even (exact for normal f16 values); false on |x| > 65504. */
export function bf16ToF16(src: Uint16Array, dst: Uint16Array): boolean {
  if (src.byteOffset % 4 !== 0 || dst.byteOffset % 4 !== 0) return bf16ToF16Scalar(src, dst, 0, src.length);
  // Two values per step through u32 views: the common case (both in the f16 normal range) is a
  // few integer ops; anything else goes through the scalar path.
  const pairs = src.length >> 1;
  const s32 = new Uint32Array(src.buffer, src.byteOffset, pairs);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset, pairs);
  for (let i = 0; i < pairs; i++) {
    const w = s32[i]!;
    const lo = w & 0x7fff;
    const hi = (w >>> 16) & 0x7fff;
    if ((lo - 0x3880) >>> 0 < 0xf00 && (hi - 0x3880) >>> 0 < 0xf00) {
      d32[i] = (w & 0x80008000) | ((lo - 0x3800) << 3) | ((hi - 0x3800) << 19);
    } else if (!bf16ToF16Scalar(src, dst, 2 * i, 2 * i + 2)) {
      return false;
    }
  }
  return bf16ToF16Scalar(src, dst, pairs * 2, src.length);
}

function bf16ToF16Scalar(src: Uint16Array, dst: Uint16Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const h = src[i]!;
    const magnitude = h & 0x7fff;
    // f16 normal range (bf16 exponent 113..142): rebias 127 -> 15 and widen the mantissa 7 -> 10 bits,
    // both in one subtraction and shift.
    if ((magnitude - 0x3880) >>> 0 < 0xf00) {
      dst[i] = (h & 0x8000) | ((magnitude - 0x3800) << 3);
    } else if (magnitude >= 0x4780) {
      if (magnitude < 0x7f80) return false; // finite and >= 65536: beyond f16
      dst[i] = (h & 0x8000) | 0x7c00 | (magnitude > 0x7f80 ? 0x200 : 0); // inf / nan
    } else {
      dst[i] = f32ToF16Bits(bf16BitsToF32(h)); // f16 subnormal or zero: rounds
    }
  }
  return true;
}
