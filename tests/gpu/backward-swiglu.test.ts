import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { SwiGluBackward } from '../../src/kernels/backward/swiglu';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { swigluBackwardRef } from '../reference/backward-swiglu';

describe('backward swiglu kernel', () => {
  for (const count of [1, 255, 3 * 1001]) {
    for (const inPlace of [false, true]) {
      it(`${count} elements ${inPlace ? 'in place' : 'out of place'}`, async () => {
        const rt = await testRuntime();
        const { normal } = seededRandom(`backward-swiglu ${count}`);
        const g = randomArray(count, normal, 4);
        if (count > 3) g.set([-100, 100, 0], 0); // saturated sigmoid both ways, and g = 0
        const u = randomArray(count, normal);
        const dh = randomArray(count, normal);
        const gBuf = uploadBuffer(rt.device, g, 'g');
        const uBuf = uploadBuffer(rt.device, u, 'u');
        const dg = inPlace ? gBuf : poisonedF32(rt, count, 'dg');
        const du = inPlace ? uBuf : poisonedF32(rt, count, 'du');
        const op = new SwiGluBackward(rt, {
          n: count, g: gBuf, u: uBuf, dh: uploadBuffer(rt.device, dh, 'dh'), ...(inPlace ? {} : { dg, du }),
        });
        runPass(rt, (pass) => op.encode(pass));
        const outG = await readF32(rt.device, dg, count);
        const outU = await readF32(rt.device, du, count);
        expect(firstNonFinite(outG)).toBe(-1);
        expect(firstNonFinite(outU)).toBe(-1);
        const ref = swigluBackwardRef(g, u, dh);
        const eg = relativeError(outG, ref.dg);
        const eu = relativeError(outU, ref.du);
        console.log(`dg rel err ${eg.toExponential(2)}, du rel err ${eu.toExponential(2)}`);
        expect(eg).toBeLessThan(1e-5);
        expect(eu).toBeLessThan(1e-5);
      });
    }
  }
});
