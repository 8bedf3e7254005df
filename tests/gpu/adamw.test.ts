/** AdamW (src/kernels/adamw.ts) against torch's update in float64: three steps, odd size, weight decay, gradient scale. */
import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer, writeBuffer } from '../../src/gpu/buffers';
import { AdamW, adamWParams } from '../../src/kernels/adamw';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { adamwRef } from '../reference/lora';

describe('adamw kernel', () => {
  for (const [n, weightDecay, gradScale] of [[1, 0, 1], [1027, 0.01, 0.25]] as const) {
    it(`${n} parameters, weight decay ${weightDecay}, grad scale ${gradScale}: 3 steps`, async () => {
      const rt = await testRuntime();
      const { seed, normal } = seededRandom(`adamw ${n} ${weightDecay}`);
      console.log(`seed ${seed}`);
      const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
      const w0 = randomArray(n, normal);
      const ref = { w: Float64Array.from(w0), m: new Float64Array(n), v: new Float64Array(n) };
      const w = uploadBuffer(rt.device, w0, 'w');
      // moments start at zero; poison would show as NaN, so zero them explicitly after poisoning
      const m = poisonedF32(rt, n, 'm');
      const v = poisonedF32(rt, n, 'v');
      writeBuffer(rt.device, m, new Float32Array(n));
      writeBuffer(rt.device, v, new Float32Array(n));
      const params = rt.uniform(adamWParams(h, 1, gradScale), 'adamw.params');
      const grad = uploadBuffer(rt.device, new Float32Array(n), 'grad');
      const op = new AdamW(rt, { n, params, grad, w, m, v });
      for (let t = 1; t <= 3; t++) {
        const g = randomArray(n, normal, t === 2 ? 1e-3 : 1);
        writeBuffer(rt.device, grad, g);
        rt.device.queue.writeBuffer(params, 0, adamWParams(h, t, gradScale));
        runPass(rt, (pass) => op.encode(pass));
        adamwRef(ref, g, h, t, gradScale);
      }
      const out = await readF32(rt.device, w, n);
      expect(firstNonFinite(out)).toBe(-1);
      const delta = (a: ArrayLike<number>) => Array.from(a, (x, i) => x - w0[i]!);
      const err = relativeError(delta(out), delta(ref.w));
      console.log(`update rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
      expect(relativeError(await readF32(rt.device, m, n), ref.m)).toBeLessThan(1e-5);
      expect(relativeError(await readF32(rt.device, v, n), ref.v)).toBeLessThan(1e-5);
    });
  }
});
