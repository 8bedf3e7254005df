import { describe, expect, it } from 'vitest';
import { readU32, uploadBuffer } from '../../src/gpu/buffers';
import type { FloatDType, QuantDType } from '../../src/gpu/tensor';
import { loadCheckpoint } from '../../src/io/load';
import { FilesSource } from '../../src/io/file-source';
import { Quantize, quantizeTensor, quantizedBuffer } from '../../src/kernels/quantize';
import { quantMax, quantRowWords, weightBytes } from '../../src/quant/formats';
import { f16BitsToF32, packF16, roundToF16 } from '../../src/util/f16';
import { runPass, testRuntime } from '../helpers/gpu';
import { randomArray, seededRandom } from '../helpers/numeric';
import { asFiles, makeSyntheticCheckpoint, trackBuffers } from '../helpers/synthetic-checkpoint';
import { codeOf, quantizeRef, scaleBits } from '../reference/quant';

/** Field values of packed row words: code of (n, k) and scale bits of (n, g). */
function unpack(words: Uint32Array, dtype: QuantDType, K: number) {
  const bits = dtype === 'q8' ? 8 : 4;
  const G = Math.ceil(K / 32);
  const R = quantRowWords(dtype, K);
  const per = 32 / bits;
  const code = (n: number, k: number) => {
    const v = (words[n * R + Math.floor(k / per)]! >>> ((k % per) * bits)) & ((1 << bits) - 1);
    return v >= 1 << (bits - 1) ? v - (1 << bits) : v;
  };
  const scale = (n: number, g: number) => (words[n * R + G * bits + (g >> 1)]! >>> ((g & 1) * 16)) & 0xffff;
  return { code, scale, G, R };
}

/** ulps between two positive f16 bit patterns. */
const ulps = (a: number, b: number) => Math.abs(a - b);

describe('quantized weight formats', () => {
  it('the CPU reference round-trips within half a step and exactly on its own grid', () => {
    const { normal } = seededRandom('quant reference');
    for (const dtype of ['q8', 'q4'] as const) {
      const N = 3;
      const K = 77;
      const w = randomArray(N * K, normal, 0.05);
      const r = quantizeRef(w, N, K, dtype);
      const G = Math.ceil(K / 32);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const s = f16BitsToF32(r.scales[n * G + Math.floor(k / 32)]!);
          expect(Math.abs(r.values[n * K + k]! - w[n * K + k]!)).toBeLessThanOrEqual(s / 2 + s * 2 ** -10 * quantMax(dtype));
        }
      }
      // Dequantized values are on the grid: quantizing them again gives the same values.
      const again = quantizeRef(Float32Array.from(r.values), N, K, dtype);
      expect(Array.from(again.values)).toEqual(Array.from(r.values));
    }
  });

  const shapes = [
    { N: 5, K: 32 },
    { N: 7, K: 100 }, // partial last group, odd group count (a half-used scale word)
    { N: 70, K: 96, maxBindingBytes: 8192 }, // row windows (16 rows each: the offset alignment step of q8 rows)
    { N: 4, K: 45 }, // odd K: f16 rows start mid-word
  ];
  for (const dtype of ['q8', 'q4'] as const) {
    for (const source of ['f32', 'f16'] as FloatDType[]) {
      for (const { N, K, maxBindingBytes } of shapes) {
        if (maxBindingBytes && source === 'f16' && K % 2) continue;
        it(`${source} ${N}x${K} -> ${dtype}${maxBindingBytes ? ' windowed' : ''} matches the reference`, async () => {
          const rt = await testRuntime();
          const { normal } = seededRandom(`quantize ${dtype} ${source} ${N}x${K}`);
          const w32 = randomArray(N * K, normal, 0.02);
          const w = source === 'f16' ? roundToF16(w32) : Float64Array.from(w32);
          const src = uploadBuffer(rt.device, source === 'f16' ? packF16(w32) : w32, 'w');
          const target = quantizedBuffer(rt.device, dtype, [N, K], 'q');
          if (maxBindingBytes) {
            const op = new Quantize(rt, { rows: N, K, source: src, sourceDtype: source, target, dtype, maxBindingBytes });
            runPass(rt, (pass) => op.encode(pass));
          } else {
            quantizeTensor(rt, { name: 'w', buffer: src, dtype: source, shape: [N, K] }, dtype, target);
          }
          const words = await readU32(rt.device, target, weightBytes(dtype, [N, K]) / 4);
          const ref = quantizeRef(w, N, K, dtype);
          const got = unpack(words, dtype, K);
          const want = unpack(ref.words, dtype, K);
          let nearTies = 0;
          for (let n = 0; n < N; n++) {
            for (let g = 0; g < got.G; g++) {
              const h = got.scale(n, g);
              expect(ulps(h, want.scale(n, g)), `scale ${n},${g}`).toBeLessThanOrEqual(1);
              const s = f16BitsToF32(h);
              for (let k = g * 32; k < Math.min(K, g * 32 + 32); k++) {
                const exact = codeOf(w[n * K + k]!, s, dtype);
                const c = got.code(n, k);
                if (c !== exact) {
                  // Only where w / s lies within f32 rounding of a half (the kernel divides in f32).
                  const frac = Math.abs(Math.abs(w[n * K + k]! / s) % 1 - 0.5);
                  expect(frac, `code ${n},${k}: ${c} vs ${exact}`).toBeLessThan(1e-5);
                  expect(Math.abs(c - exact)).toBe(1);
                  nearTies++;
                }
              }
              for (let k = K; k < got.G * 32 && g === got.G - 1; k++) expect(got.code(n, k)).toBe(0);
            }
            // Padding words past the scales stay zero.
            const used = got.G * (dtype === 'q8' ? 8 : 4) + Math.ceil(got.G / 2);
            for (let j = used; j < got.R; j++) expect(words[n * got.R + j]).toBe(0);
          }
          console.log(`quantize ${source} ${N}x${K} ${dtype}: ${nearTies} codes at a rounding tie`);
        });
      }
    }
  }

  it('a group with NaN or Inf gets a NaN scale; an all-zero group scale 0', async () => {
    const rt = await testRuntime();
    const K = 96;
    const w = new Float32Array(2 * K).fill(0.5);
    w[3] = NaN;
    w[K + 70] = Infinity;
    w.fill(0, K, K + 32);
    for (const dtype of ['q8', 'q4'] as const) {
      const target = quantizedBuffer(rt.device, dtype, [2, K], 'q');
      quantizeTensor(rt, { name: 'w', buffer: uploadBuffer(rt.device, w, 'w'), dtype: 'f32', shape: [2, K] }, dtype, target);
      const got = unpack(await readU32(rt.device, target, weightBytes(dtype, [2, K]) / 4), dtype, K);
      expect(Number.isNaN(f16BitsToF32(got.scale(0, 0)))).toBe(true);
      expect(got.scale(0, 1)).toBe(scaleBits(0.5, dtype));
      expect(got.scale(1, 0)).toBe(0);
      expect(got.scale(1, 1)).toBe(scaleBits(0.5, dtype));
      expect(Number.isNaN(f16BitsToF32(got.scale(1, 2)))).toBe(true);
    }
  });

  it('loading with a quantizer converts the block linears only, frees every float upload and counts the quantized bytes', async () => {
    const rt = await testRuntime();
    const ck = makeSyntheticCheckpoint({ hidden: 64, intermediate: 96, layers: 2, vocab: 50, dtype: 'BF16', tied: false });
    const tracker = trackBuffers(rt.device);
    try {
      for (const dtype of ['q8', 'q4'] as const) {
        const loaded = await loadCheckpoint(rt.device, new FilesSource(asFiles(ck.files, `quant_${dtype}`)), {
          quantize: { dtype, run: (t, target) => quantizeTensor(rt, t, dtype, target) },
        });
        let expected = 0;
        for (const t of ck.tensors) {
          const g = loaded.tensors.get(t.name)!;
          const linear = /layers\.\d+\.(self_attn|mlp)\..*_proj/.test(t.name);
          expect(g.dtype, t.name).toBe(linear ? dtype : t.name.endsWith('norm.weight') ? 'f32' : 'f16');
          expected += g.buffer.size;
          if (linear) {
            const [N, K] = t.shape as [number, number];
            const src = new Uint16Array(t.data.buffer, t.data.byteOffset, N * K);
            const w = Float64Array.from(src, (b) => { const f = new Float32Array(new Uint32Array([b << 16]).buffer)[0]!; return f; });
            const words = await readU32(rt.device, g.buffer, weightBytes(dtype, [N, K]) / 4);
            const ref = quantizeRef(roundToF16(w), N, K, dtype);
            const got = unpack(words, dtype, K);
            let same = 0;
            const want = unpack(ref.words, dtype, K);
            for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) same += got.code(n, k) === want.code(n, k) ? 1 : 0;
            expect(same / (N * K)).toBeGreaterThan(0.99);
          }
        }
        expect(loaded.bytesOnGpu).toBe(expected);
        loaded.dispose();
        expect(tracker.alive()).toEqual([]);
      }
    } finally {
      tracker.restore();
    }
  });
});
