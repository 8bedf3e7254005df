/**
 * The LoRA merge kernel (src/kernels/lora-merge.ts) against a float64 reference: f32 weights within
 * 1e-6 relative; packed f16 weights within one f16 ulp of the exact merged value (the f32 sum is then
 * rounded to f16 either way), an odd element count keeping the last word's unused half; the output
 * buffer starts NaN-poisoned.
 */
import { describe, expect, it } from 'vitest';
import { readBuffer, uploadBuffer } from '../../src/gpu/buffers';
import { LoraMerge } from '../../src/kernels/lora-merge';
import { f16BitsToF32, packF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { loraMergeRef } from '../reference/lora';

describe('lora merge kernel', () => {
  for (const [N, K, r, dtype] of [[37, 53, 3, 'f32'], [45, 64, 8, 'f16'], [3, 5, 2, 'f16'], [1, 1, 1, 'f32']] as const) {
    it(`${dtype} [${N}, ${K}] r ${r}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`lora merge ${N} ${K} ${r} ${dtype}`);
      const w = randomArray(N * K, normal, 0.5);
      const a = randomArray(r * K, normal, 0.3);
      const b = randomArray(N * r, normal, 0.3);
      const scale = 2;
      const stored = dtype === 'f16' ? packF16(w) : w;
      if (dtype === 'f16' && (N * K) % 2 === 1) stored[stored.length - 1]! |= 0x3c00 << 16; // a 1.0 in the unused half
      const words = stored.length;
      const out = poisonedF32(rt, words, 'merged');
      const op = new LoraMerge(rt, {
        N, K, r, scale, dtype, w: uploadBuffer(rt.device, stored, 'w'), a: uploadBuffer(rt.device, a, 'a'), b: uploadBuffer(rt.device, b, 'b'), out,
      });
      runPass(rt, (pass) => op.encode(pass));
      const bytes = await readBuffer(rt.device, out, words * 4);
      if (dtype === 'f32') {
        const got = new Float32Array(bytes);
        expect(firstNonFinite(got)).toBe(-1);
        expect(relativeError(got, loraMergeRef(w, a, b, N, K, r, scale))).toBeLessThan(1e-6);
        return;
      }
      const halves = new Uint16Array(bytes);
      const base = Array.from({ length: N * K }, (_, i) => f16BitsToF32((stored[i >> 1]! >>> ((i & 1) * 16)) & 0xffff));
      const ref = loraMergeRef(base, a, b, N, K, r, scale);
      for (let i = 0; i < N * K; i++) {
        const got = f16BitsToF32(halves[i]!);
        const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(ref[i]!), 2 ** -14))) - 10);
        expect(Math.abs(got - ref[i]!), `element ${i}: ${got} vs ${ref[i]}`).toBeLessThanOrEqual(ulp);
      }
      if ((N * K) % 2 === 1) expect(halves[N * K]).toBe(0x3c00);
    });
  }
});
