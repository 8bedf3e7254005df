import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { ResidualAdd, SwiGlu } from '../../src/kernels/elementwise';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { addRef, swigluRef } from '../reference/elementwise';

describe('element-wise kernels', () => {
  for (const n of [1, 255, 70001]) {
    it(`swiglu n=${n}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`swiglu ${n}`);
      const g = randomArray(n, normal, 4);
      const u = randomArray(n, normal);
      const h = poisonedF32(rt, n);
      const op = new SwiGlu(rt, { n, g: uploadBuffer(rt.device, g, 'g'), u: uploadBuffer(rt.device, u, 'u'), h });
      runPass(rt, (pass) => op.encode(pass));
      const out = await readF32(rt.device, h, n);
      expect(firstNonFinite(out)).toBe(-1);
      expect(relativeError(out, swigluRef(g, u))).toBeLessThan(1e-6);
    });
    it(`residual add n=${n}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`add ${n}`);
      const x = randomArray(n, normal);
      const y0 = randomArray(n, normal);
      const y = uploadBuffer(rt.device, y0, 'y');
      const op = new ResidualAdd(rt, { n, x: uploadBuffer(rt.device, x, 'x'), y });
      runPass(rt, (pass) => op.encode(pass));
      const out = await readF32(rt.device, y, n);
      expect(relativeError(out, addRef(x, y0))).toBeLessThan(1e-7);
    });
  }
});
