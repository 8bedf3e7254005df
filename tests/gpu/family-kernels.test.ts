/**
 * The kernels the model families add, against float64 references (tests/reference/family.ts): the
 * GELU-tanh gated product (Gemma's MLP) forward and backward, projection biases (add and Taylor
 * score), Gemma's 1 + w norm weights and its scaled embedding. Odd sizes, poisoned outputs.
 */
import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { packF16, roundToF16 } from '../../src/util/f16';
import type { GpuTensor } from '../../src/gpu/tensor';
import { SwiGluBackward } from '../../src/kernels/backward/swiglu';
import { BiasAdd, BiasScore } from '../../src/kernels/bias';
import { SwiGlu } from '../../src/kernels/elementwise';
import { Embedding } from '../../src/kernels/embedding';
import { offsetNormWeight } from '../../src/kernels/norm-offset';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { biasAddRef, biasScoreRef, geluGatedBackwardRef, geluGatedRef } from '../reference/family';

function tensor(rt: Awaited<ReturnType<typeof testRuntime>>, values: Float32Array, dtype: 'f32' | 'f16', name: string): GpuTensor {
  const data = dtype === 'f16' ? packF16(values) : values;
  return { name, buffer: uploadBuffer(rt.device, data, name), dtype, shape: [values.length] };
}

describe('family kernels', () => {
  for (const n of [1, 255, 3 * 1001]) {
    it(`GELU-tanh gated product and its backward, ${n} elements`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`gelu gated ${n}`);
      const g = randomArray(n, normal, 3);
      if (n > 3) g.set([-60, 60, 0], 0); // saturated both ways, and 0
      const u = randomArray(n, normal);
      const dh = randomArray(n, normal);
      const h = poisonedF32(rt, n, 'h');
      const gBuf = uploadBuffer(rt.device, g, 'g');
      const uBuf = uploadBuffer(rt.device, u, 'u');
      const fwd = new SwiGlu(rt, { n, g: gBuf, u: uBuf, h, activation: 'gelu_tanh' });
      const dg = poisonedF32(rt, n, 'dg');
      const du = poisonedF32(rt, n, 'du');
      const bwd = new SwiGluBackward(rt, { n, g: gBuf, u: uBuf, dh: uploadBuffer(rt.device, dh, 'dh'), dg, du, activation: 'gelu_tanh' });
      runPass(rt, (pass) => {
        fwd.encode(pass);
        bwd.encode(pass);
      });
      const got = await readF32(rt.device, h, n);
      const ref = geluGatedBackwardRef(g, u, dh);
      const [gotDg, gotDu] = [await readF32(rt.device, dg, n), await readF32(rt.device, du, n)];
      for (const a of [got, gotDg, gotDu]) expect(firstNonFinite(a)).toBe(-1);
      const errs = [relativeError(got, geluGatedRef(g, u)), relativeError(gotDg, ref.dg), relativeError(gotDu, ref.du)];
      console.log(`gelu gated ${n}: h ${errs[0]!.toExponential(2)}, dg ${errs[1]!.toExponential(2)}, du ${errs[2]!.toExponential(2)}`);
      for (const e of errs) expect(e).toBeLessThan(1e-5);
    });
  }

  for (const [rows, N, dtype] of [[1, 7, 'f32'], [37, 42, 'f32'], [64, 131, 'f16'], [300, 14, 'f32']] as const) {
    it(`bias add and Taylor score, ${rows} x ${N} ${dtype}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`bias ${rows} ${N}`);
      const y = randomArray(rows * N, normal);
      const dy = randomArray(rows * N, normal);
      const b32 = randomArray(N, normal, 0.5);
      const b = dtype === 'f16' ? Float32Array.from(roundToF16(b32)) : b32;
      const bias = tensor(rt, b, dtype, 'bias');
      const yBuf = uploadBuffer(rt.device, y, 'y');
      const scores = poisonedF32(rt, 3, 'scores');
      const add = new BiasAdd(rt, { rows, N, bias, y: yBuf });
      const score = new BiasScore(rt, { rows, N, bias, dy: uploadBuffer(rt.device, dy, 'dy'), score: { scores, slot: 1 } });
      runPass(rt, (pass) => {
        add.encode(pass);
        score.encode(pass);
      });
      const got = await readF32(rt.device, yBuf, rows * N);
      const s = await readF32(rt.device, scores, 3);
      expect(relativeError(got, biasAddRef(y, b, rows, N))).toBeLessThan(1e-6);
      const ref = biasScoreRef(dy, b, rows, N);
      console.log(`bias ${rows}x${N}: score ${s[1]} vs ${ref}`);
      expect(Math.abs(s[1]! - ref) / ref).toBeLessThan(1e-5);
      expect(Number.isNaN(s[0]) && Number.isNaN(s[2])).toBe(true); // only its slot written
    });
  }

  for (const dtype of ['f32', 'f16'] as const) {
    it(`Gemma's applied norm weight 1 + w (${dtype})`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`norm offset ${dtype}`);
      const w = Float32Array.from(roundToF16(randomArray(259, normal, 0.3)));
      const out = offsetNormWeight(rt, tensor(rt, w, dtype, 'w'), 1);
      const got = await readF32(rt.device, out.buffer, w.length);
      expect(out.dtype).toBe('f32');
      expect(Array.from(got)).toEqual(Array.from(w, (x) => Math.fround(1 + x)));
    });
  }

  it('embedding rows times a scale (Gemma: sqrt(hidden) in the model dtype)', async () => {
    const rt = await testRuntime();
    const { normal } = seededRandom('embedding scale');
    const [V, dim, rows, scale] = [13, 34, 5, 5.84375];
    const table = randomArray(V * dim, normal);
    const ids = Uint32Array.from([3, 0, 12, 3, 7]);
    const y = poisonedF32(rt, rows * dim, 'y');
    const op = new Embedding(rt, { rows, V, dim, dtype: 'f32', ids: uploadBuffer(rt.device, ids, 'ids'), table: uploadBuffer(rt.device, table, 'table'), y, scale });
    runPass(rt, (pass) => op.encode(pass));
    const got = await readF32(rt.device, y, rows * dim);
    const ref = Float64Array.from({ length: rows * dim }, (_, i) => table[ids[Math.floor(i / dim)]! * dim + (i % dim)]! * scale);
    expect(relativeError(got, ref)).toBeLessThan(1e-7);
  });
});
