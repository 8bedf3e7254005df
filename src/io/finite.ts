/**
 * Finds NaN and Inf in raw safetensors bytes by their exponent bits (all ones). Used by the loader
 * on CPU adapters, where each host chunk is scanned while still in cache on its way to the
 * "GPU" (which is host memory there too); real GPUs check the uploaded weights instead
 * (src/model/finite-weights.ts), so the host never reads a multi-GB checkpoint twice.
 */
import type { SafetensorsDType } from './safetensors';

/**
 * Per 32-bit word shifted right by one (so every step stays a small-integer op, no doubles): the
 * exponent mask, and the add that carries into the bit above each value's exponent exactly when
 * all its exponent bits are ones (two halves per word for F16/BF16, one value for F32).
 */
const WORD: Record<SafetensorsDType, { mask: number; add: number; flag: number }> = {
  F16: { mask: 0x3e003e00, add: 0x02000200, flag: 0x40004000 },
  BF16: { mask: 0x3fc03fc0, add: 0x00400040, flag: 0x40004000 },
  F32: { mask: 0x3fc00000, add: 0x00400000, flag: 0x40000000 },
};
const BLOCK = 4096;

/** Index (in elements) of the first NaN or Inf in `bytes` (whole elements, 4-byte aligned offset), or -1. */
export function firstNonFinite(dtype: SafetensorsDType, bytes: Uint8Array): number {
  const { mask, add, flag } = WORD[dtype];
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  // OR the carries of a block together (three integer ops a word); locate only in a flagged block.
  for (let start = 0; start < words.length; start += BLOCK) {
    const end = Math.min(start + BLOCK, words.length);
    let flags = 0;
    for (let i = start; i < end; i++) flags |= ((words[i]! >>> 1) & mask) + add;
    if ((flags & flag) === 0) continue;
    for (let i = start; i < end; i++) {
      const carry = (((words[i]! >>> 1) & mask) + add) & flag;
      if (carry === 0) continue;
      return dtype === 'F32' ? i : 2 * i + ((carry & 0x4000) === 0 ? 1 : 0);
    }
  }
  // An odd count of 2-byte elements leaves one half after the last whole word.
  if (dtype !== 'F32' && bytes.byteLength % 4 === 2) {
    const last = bytes[bytes.byteLength - 2]! | (bytes[bytes.byteLength - 1]! << 8);
    if ((((last >>> 1) & mask) + add) & 0x4000) return 2 * words.length;
  }
  return -1;
}

/** "NaN", "+Inf" or "-Inf": the element at `index` of `bytes` (one that firstNonFinite found). */
export function describeNonFinite(dtype: SafetensorsDType, bytes: Uint8Array, index: number): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bits = dtype === 'F32' ? view.getUint32(index * 4, true) : view.getUint16(index * 2, true);
  const mantissaBits = dtype === 'F32' ? 23 : dtype === 'F16' ? 10 : 7;
  if ((bits & ((1 << mantissaBits) - 1)) !== 0) return 'NaN';
  return bits >>> (dtype === 'F32' ? 31 : 15) ? '-Inf' : '+Inf';
}
