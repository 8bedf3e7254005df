/** The host scan for NaN/Inf in raw safetensors bytes, against Number.isFinite on decoded values. */
import { describe, expect, it } from 'vitest';
import { describeNonFinite, firstNonFinite } from '../../src/io/finite';
import { bf16BitsToF32, f16BitsToF32 } from '../../src/util/f16';
import { mulberry32 } from '../../src/util/random';
import { seededRandom } from '../helpers/numeric';

const decode = { F16: f16BitsToF32, BF16: bf16BitsToF32 };

describe('firstNonFinite', () => {
  it('finds exactly the first NaN/Inf of every 16-bit pattern, in either half of a word and in an odd tail', () => {
    const wrong: string[] = [];
    for (const dtype of ['F16', 'BF16'] as const) {
      const one = dtype === 'F16' ? 0x3c00 : 0x3f80;
      const check = (bits: number, length: number, at: number) => {
        const u16 = new Uint16Array(length + (length % 2)).fill(one);
        u16[at] = bits;
        const got = firstNonFinite(dtype, new Uint8Array(u16.buffer, 0, length * 2));
        if (got !== (Number.isFinite(decode[dtype](bits)) ? -1 : at)) wrong.push(`${dtype} 0x${bits.toString(16)} at ${at} of ${length}: ${got}`);
      };
      for (let bits = 0; bits < 65536; bits++) {
        check(bits, 2, 0);
        check(bits, 2, 1);
        check(bits, 3, 2);
        // Past the first 4096-word block, and a tail after whole words, for a sample of patterns.
        if (bits % 251 === 0 || (bits & 0x7c00) === 0x7c00 || (bits & 0x7f80) === 0x7f80) {
          if (bits % 7 === 0) check(bits, 9001, 8193);
          if (bits % 11 === 0) check(bits, 9001, 9000);
        }
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('F32: random finite data passes, each planted NaN/Inf is found at its index; kinds are named', () => {
    const { seed } = seededRandom('finite scan');
    const next = mulberry32(seed);
    const f = new Float32Array(20_011);
    for (let i = 0; i < f.length; i++) f[i] = (next() - 0.5) * 1e30;
    const bytes = new Uint8Array(f.buffer);
    expect(firstNonFinite('F32', bytes)).toBe(-1);
    for (const [value, kind] of [[NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf']] as const) {
      const at = Math.floor(next() * f.length);
      const copy = new Float32Array(f);
      copy[at] = value;
      const b = new Uint8Array(copy.buffer);
      expect(firstNonFinite('F32', b)).toBe(at);
      expect(describeNonFinite('F32', b, at)).toBe(kind);
    }
    const h = new Uint16Array([0x3c00, 0xfc00, 0x7e00]);
    expect(describeNonFinite('F16', new Uint8Array(h.buffer), 1)).toBe('-Inf');
    expect(describeNonFinite('F16', new Uint8Array(h.buffer), 2)).toBe('NaN');
    expect(describeNonFinite('BF16', new Uint8Array(new Uint16Array([0x7f80]).buffer), 0)).toBe('+Inf');
  });
});
