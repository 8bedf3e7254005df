/** IEEE half-precision conversions (round to nearest even), used to pack weights two per u32. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Largest finite f16 value. */
export const F16_MAX = 65504;

export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m += 1;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 is the top half of an f32. */
export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** Packs values as f16 two per u32 (element 2i in the low half), the kernels' weight layout. */
export function packF16(values: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    out[i >> 1]! |= f32ToF16Bits(values[i]!) << ((i & 1) * 16);
  }
  return out;
}

/** Rounds each value to the nearest f16, as a reference for kernels that read f16 weights. */
export function roundToF16(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(values[i]!));
  return out;
}

/**
 * Rounds a float64 to the nearest value with `bits` significant bits and exponents down to `minExp`
 * (ties to even; subnormals below 2^minExp). Direct, not through f32: rounding twice can miss a tie.
 */
function roundSignificand(v: number, bits: number, minExp: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, minExp) - (bits - 1));
  const m = a / q;
  let n = Math.floor(m);
  const rest = m - n;
  if (rest > 0.5 || (rest === 0.5 && n % 2 === 1)) n++;
  return Math.sign(v) * n * q;
}

/** float64 -> f16 bits, rounded once to nearest even (overflow -> inf). */
export function f64ToF16Bits(v: number): number {
  // the rounded value is exact in f32 and in f16 (or past F16_MAX: inf), so this conversion is exact
  return f32ToF16Bits(roundSignificand(v, 11, -14));
}

/** float64 -> bf16 bits, rounded once to nearest even (overflow -> inf). */
export function f64ToBf16Bits(v: number): number {
  f32[0] = roundSignificand(v, 8, -126);
  return Number.isNaN(v) ? 0x7fc0 : u32[0]! >>> 16;
}
