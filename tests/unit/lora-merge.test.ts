/**
 * The host side of the merged export (src/heal/merge.ts): W + (alpha / r) B A in float64 against a
 * naive sum, single rounding to F16 / BF16 (ties to even, the case where rounding through f32
 * first goes wrong, overflow, subnormals), the PEFT folder read back, and adapters that do not fit
 * refused before any byte is read.
 */
import { describe, expect, it } from 'vitest';
import type { ExportSource } from '../../src/export/checkpoint';
import { decodeTensor, encodeTensor, mergedExportSource, mergeLinear } from '../../src/heal/merge';
import { parsePeftAdapter, peftAdapterFolder } from '../../src/heal/peft';
import { bf16BitsToF32, f16BitsToF32, f64ToBf16Bits, f64ToF16Bits } from '../../src/util/f16';
import { seededRandom } from '../helpers/numeric';

describe('merge', () => {
  it('mergeLinear adds scale * B A in float64', () => {
    const { uniform } = seededRandom('mergeLinear');
    const [N, K, r, s] = [5, 7, 3, 2.5];
    const W = Float64Array.from({ length: N * K }, () => uniform() - 0.5);
    const A = Float32Array.from({ length: r * K }, () => uniform() - 0.5);
    const B = Float32Array.from({ length: N * r }, () => uniform() - 0.5);
    const out = W.slice();
    mergeLinear(out, N, K, A, B, r, s);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let j = 0; j < r; j++) d += B[n * r + j]! * A[j * K + k]!;
        expect(out[n * K + k]).toBeCloseTo(W[n * K + k]! + s * d, 14);
      }
    }
    expect(() => mergeLinear(out, N, K, A, B, r + 1, s)).toThrow(/do not fit r 4/);
  });

  it('rounds float64 once to F16 and BF16, ties to even', () => {
    // 1 + 2^-11 is the f16 tie between 1 and 1 + 2^-10: even is 1. Just above the tie goes up, even
    // when the excess is below f32 precision (through f32 it would become the tie and go down).
    expect(f16BitsToF32(f64ToF16Bits(1 + 2 ** -11))).toBe(1);
    expect(f16BitsToF32(f64ToF16Bits(1 + 2 ** -11 + 2 ** -40))).toBe(1 + 2 ** -10);
    expect(f16BitsToF32(f64ToF16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(f16BitsToF32(f64ToF16Bits(-(1 + 2 ** -11 + 2 ** -40)))).toBe(-(1 + 2 ** -10));
    expect(f16BitsToF32(f64ToF16Bits(65519))).toBe(65504);
    expect(f16BitsToF32(f64ToF16Bits(65520))).toBe(Infinity);
    expect(f16BitsToF32(f64ToF16Bits(3 * 2 ** -25))).toBe(2 ** -23); // subnormal tie: 1.5 ulp -> 2 ulp
    expect(f16BitsToF32(f64ToF16Bits(2 ** -26))).toBe(0);
    expect(bf16BitsToF32(f64ToBf16Bits(1 + 2 ** -8))).toBe(1);
    expect(bf16BitsToF32(f64ToBf16Bits(1 + 2 ** -8 + 2 ** -40))).toBe(1 + 2 ** -7);
    expect(bf16BitsToF32(f64ToBf16Bits(-3.0))).toBe(-3);
    expect(Number.isNaN(bf16BitsToF32(f64ToBf16Bits(NaN)))).toBe(true);
    const { uniform } = seededRandom('round');
    for (let i = 0; i < 2000; i++) {
      const v = (uniform() - 0.5) * 2 ** Math.floor(uniform() * 30 - 20);
      const h = f16BitsToF32(f64ToF16Bits(v));
      const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(v))), -14) - 10);
      expect(Math.abs(h - v)).toBeLessThanOrEqual(ulp / 2);
    }
  });

  it('encodeTensor / decodeTensor round trip each dtype', () => {
    const v = Float64Array.from([0.1, -2.5, 3e-3, 1000]);
    expect(Array.from(decodeTensor('F32', encodeTensor('F32', v)))).toEqual(Array.from(v, Math.fround));
    for (const dtype of ['F16', 'BF16'] as const) {
      const once = decodeTensor(dtype, encodeTensor(dtype, v));
      expect(Array.from(decodeTensor(dtype, encodeTensor(dtype, once)))).toEqual(Array.from(once));
      once.forEach((x, i) => expect(Math.abs(x - v[i]!) / Math.abs(v[i]!)).toBeLessThan(dtype === 'F16' ? 2 ** -11 : 2 ** -8));
    }
  });

  const r = 2;
  const adapters = [{ block: 4, name: 'q' as const, A: Float32Array.from([1, 2, 3, 4, 5, 6]), B: Float32Array.from([0.5, -1, 0, 2]) }];
  const wBytes = encodeTensor('F16', Float64Array.from([1, 0, 0, 0, 1, 0]));
  const source: ExportSource = {
    tensors: [
      { name: 'model.layers.4.self_attn.q_proj.weight', dtype: 'F16', shape: [2, 3], byteLength: 12 },
      { name: 'model.norm.weight', dtype: 'F16', shape: [3], byteLength: 6 },
    ],
    async *chunks(name) {
      if (name === 'model.norm.weight') yield new Uint8Array(6);
      else for (let i = 0; i < 12; i += 5) yield wBytes.slice(i, i + 5);
    },
    readConfig: async () => '{}',
    files: [],
    readFile: async () => new Uint8Array(),
  };

  it('mergedExportSource merges the adapted tensor (pieces of any size) and passes the others', async () => {
    const merged = mergedExportSource(source, adapters, { r, alpha: 4 });
    const bytes: Uint8Array[] = [];
    for await (const p of merged.chunks('model.layers.4.self_attn.q_proj.weight')) bytes.push(p);
    expect(bytes).toHaveLength(1);
    // W + 2 * B A: B A = [[0.5-4, 1-5, 1.5-6], [8, 10, 12]]
    expect(Array.from(decodeTensor('F16', bytes[0]!))).toEqual([1 - 7, -8, -9, 16, 21, 24]);
    for await (const p of merged.chunks('model.norm.weight')) expect(p).toEqual(new Uint8Array(6));
  });

  it('refuses adapters without a tensor or of the wrong shape', () => {
    expect(() => mergedExportSource(source, [{ ...adapters[0]!, block: 5 }], { r, alpha: 4 })).toThrow(/no tensor model.layers.5.self_attn.q_proj.weight/);
    expect(() => mergedExportSource(source, adapters, { r: 3, alpha: 4 })).toThrow(/is \[2, 3\]/);
  });

  it('parsePeftAdapter reads the folder back with the source numbering', () => {
    const folder = peftAdapterFolder(adapters, { plan: [0, 4], r, alpha: 4, dropout: 0, baseModel: 'x' });
    const back = parsePeftAdapter(folder['adapter_config.json'], folder['adapter_model.safetensors'], [0, 4]);
    expect(back.r).toBe(r);
    expect(back.alpha).toBe(4);
    expect(back.adapters).toEqual(adapters);
    expect(() => parsePeftAdapter('{"peft_type":"IA3"}', folder['adapter_model.safetensors'], [0, 4])).toThrow(/not a LoRA adapter/);
    expect(() => parsePeftAdapter(folder['adapter_config.json'], folder['adapter_model.safetensors'], [0])).toThrow(/past the plan's 1 blocks/);
  });
});
