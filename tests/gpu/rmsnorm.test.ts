import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { RmsNorm } from '../../src/kernels/rmsnorm';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { rmsnormRef } from '../reference/rmsnorm';

describe('rmsnorm kernel', () => {
  const shapes: [number, number][] = [[1, 64], [3, 257], [17, 1000], [5, 4096]];
  for (const weightF16 of [false, true]) {
    for (const [rows, dim] of shapes) for (const workgroupSize of [undefined, 128]) {
      it(`${rows}x${dim} weights ${weightF16 ? 'f16' : 'f32'}${workgroupSize ? ` WG ${workgroupSize}` : ''}`, async () => {
        const rt = await testRuntime();
        const { normal } = seededRandom(`rmsnorm ${rows}x${dim}`);
        const x = randomArray(rows * dim, normal, 3);
        const w = randomArray(dim, normal);
        const eps = 1e-5;
        const y = poisonedF32(rt, rows * dim);
        const op = new RmsNorm(rt, {
          rows, dim, eps, weightF16, workgroupSize,
          x: uploadBuffer(rt.device, x, 'x'),
          w: uploadBuffer(rt.device, weightF16 ? packF16(w) : w, 'w'),
          y,
        });
        runPass(rt, (pass) => op.encode(pass));
        const out = await readF32(rt.device, y, rows * dim);
        expect(firstNonFinite(out)).toBe(-1);
        const ref = rmsnormRef(x, weightF16 ? roundToF16(w) : w, rows, dim, eps);
        expect(relativeError(out, ref)).toBeLessThan(1e-5);
      });
    }
  }
});
