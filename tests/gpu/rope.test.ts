import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { StepBuffer } from '../../src/kernels/common';
import { Rope, ropeTable, type Llama3RopeScaling } from '../../src/kernels/rope';
import { runPass, testRuntime } from '../helpers/gpu';
import { randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { invFreqRef, ropeRef } from '../reference/rope';

const LLAMA31: Llama3RopeScaling = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };

describe('rope (HF rotate_half)', () => {
  // [B, T, H, KVH, D, pos0, theta, scaling]
  const cases: [number, number, number, number, number, number, number, Llama3RopeScaling | undefined][] = [
    [2, 5, 4, 2, 64, 0, 10000, undefined],
    [1, 7, 3, 1, 32, 1000, 10000, undefined],
    [3, 1, 8, 8, 128, 5000, 10000, undefined], // decode-shaped: T = 1, position from the step buffer
    [2, 3, 4, 2, 128, 9000, 500000, LLAMA31], // LLaMA 3.1 scaling, positions past original context
  ];
  for (const [B, T, H, KVH, D, pos0, theta, scaling] of cases) {
    it(`B${B} T${T} H${H}/${KVH} D${D} pos0 ${pos0}${scaling ? ' llama3' : ''}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`rope ${B} ${T} ${D} ${pos0}`);
      const rows = B * T;
      const q = randomArray(rows * H * D, normal);
      const k = randomArray(rows * KVH * D, normal);
      const qb = uploadBuffer(rt.device, q, 'q');
      const kb = uploadBuffer(rt.device, k, 'k');
      const step = new StepBuffer(rt, 0);
      const op = new Rope(rt, { rows, T, headDim: D, nHeads: H, nKvHeads: KVH, q: qb, k: kb, step, theta, scaling });
      step.set(pos0); // written after bind-group creation: positions are read at execution time
      runPass(rt, (pass) => op.encode(pass));
      const qo = await readF32(rt.device, qb, q.length);
      const ko = await readF32(rt.device, kb, k.length);

      // Same formula as HF in f32: angle = fround(pos * inv_freq_f32); cos/sin in float64.
      const inv64 = invFreqRef(D, theta, scaling);
      const inv32 = Float32Array.from(inv64);
      expect(relativeError(await readF32(rt.device, ropeTable(rt, D, theta, scaling), D / 2), inv32)).toBe(0);
      const f32Angle = (pos: number, i: number) => Math.fround(pos * inv32[i]!);
      const eQ = relativeError(qo, ropeRef(q, rows, T, H, D, pos0, f32Angle));
      const eK = relativeError(ko, ropeRef(k, rows, T, KVH, D, pos0, f32Angle));
      // Pure float64 formula: the f32 angle alone is off by up to |pos * inv_freq| * 2^-23 rad
      // (two f32 roundings), so the tolerance scales with the largest position.
      const f64Angle = (pos: number, i: number) => pos * inv64[i]!;
      const e64 = relativeError(qo, ropeRef(q, rows, T, H, D, pos0, f64Angle));
      const maxPos = pos0 + T - 1;
      console.log(`rope D${D} pos<=${maxPos}: rel (f32 angle) q ${eQ.toExponential(2)} k ${eK.toExponential(2)}; vs f64 angle ${e64.toExponential(2)}`);
      expect(eQ).toBeLessThan(1e-6);
      expect(eK).toBeLessThan(1e-6);
      expect(e64).toBeLessThan(1e-6 + maxPos * 2 ** -23);
    });
  }
});
