import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { RmsNormBackward, RmsNormScore } from '../../src/kernels/backward/rmsnorm';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { rmsnormBackwardRef } from '../reference/backward-rmsnorm';

describe('backward rmsnorm kernels (dx, then the weight score from its 1/rms)', () => {
  // 1280 rows = the calibration batch; dim 40000 gives 313 score partials (> the reduction's 256 threads)
  const shapes: [number, number][] = [[1, 1], [3, 257], [17, 1000], [130, 96], [1280, 131], [2, 40000]];
  for (const weightF16 of [false, true]) {
    for (const [rows, dim] of shapes) {
      it(`${rows}x${dim} weights ${weightF16 ? 'f16' : 'f32'}`, async () => {
        const rt = await testRuntime();
        const { normal } = seededRandom(`backward-rmsnorm ${rows}x${dim}`);
        const x = randomArray(rows * dim, normal, 3);
        const w = randomArray(dim, normal);
        const dy = randomArray(rows * dim, normal);
        const eps = 1e-5;
        const dx = poisonedF32(rt, rows * dim, 'dx');
        const scores = poisonedF32(rt, 2, 'scores');
        const args = {
          rows, dim, eps, weightF16,
          x: uploadBuffer(rt.device, x, 'x'),
          w: uploadBuffer(rt.device, weightF16 ? packF16(w) : w, 'w'),
          dy: uploadBuffer(rt.device, dy, 'dy'),
        };
        const op = new RmsNormBackward(rt, { ...args, dx });
        const score = new RmsNormScore(rt, { ...args, rinv: op.rinv, score: { scores, slot: 1 } });
        runPass(rt, (pass) => {
          op.encode(pass);
          score.encode(pass);
        });
        const out = await readF32(rt.device, dx, rows * dim);
        const gotScore = (await readF32(rt.device, scores, 2))[1]!;
        expect(firstNonFinite(out)).toBe(-1);
        const ref = rmsnormBackwardRef(x, weightF16 ? roundToF16(w) : w, dy, rows, dim, eps);
        const errDx = relativeError(out, ref.dx);
        const errScore = Math.abs(gotScore - ref.score) / ref.score;
        console.log(`dx rel err ${errDx.toExponential(2)} (cond ${ref.cond.toPrecision(3)}), score rel err ${errScore.toExponential(2)}`);
        // 1e-5 for the ordinary case (cond ~ 1); dim = 1 makes the two terms of dx cancel
        // (cond ~ 2 mean(x^2) / eps ~ 1e6), where f32 can only reach ~ 2^-24 * cond.
        expect(errDx).toBeLessThan(Math.max(1e-5, 4 * 2 ** -24 * ref.cond));
        expect(errScore).toBeLessThan(1e-5);
      });
    }
  }

  it('accumulates dx into the residual gradient', async () => {
    const rt = await testRuntime();
    const [rows, dim, eps] = [9, 200, 1e-6];
    const { normal } = seededRandom('backward-rmsnorm accumulate');
    const x = randomArray(rows * dim, normal);
    const w = randomArray(dim, normal);
    const dy = randomArray(rows * dim, normal);
    const resid = randomArray(rows * dim, normal);
    const dx = uploadBuffer(rt.device, resid, 'dx');
    const op = new RmsNormBackward(rt, {
      rows, dim, eps, weightF16: false, accumulate: true, dx,
      x: uploadBuffer(rt.device, x, 'x'), w: uploadBuffer(rt.device, w, 'w'), dy: uploadBuffer(rt.device, dy, 'dy'),
    });
    runPass(rt, (pass) => op.encode(pass));
    const out = await readF32(rt.device, dx, rows * dim);
    const ref = rmsnormBackwardRef(x, w, dy, rows, dim, eps);
    expect(relativeError(out, ref.dx.map((v, i) => v + resid[i]!))).toBeLessThan(1e-5);
  });
});
