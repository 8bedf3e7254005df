import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { LinearBackward, LinearScore } from '../../src/kernels/backward/linear';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { checkLinearBackward, linearBackwardRef } from '../reference/backward-linear';

describe('backward linear kernels (dX = dY W; score sum |W * dY^T X|)', () => {
  // [M, N, K]: single element, odd sizes below / across the 64 tile and the 16 reduction step (N % 4 and
  // K % 8 == 0: the direct kernel's 16-byte form, rows past M clamped or not); the
  // calibration batch's 1280 rows (dW summed over all of them per tile). (More score partials than the
  // reduction's 256 threads: see the 2 x 40000 RMSNorm case.)
  const shapes: [number, number, number][] = [[1, 1, 1], [13, 70, 33], [65, 17, 129], [130, 96, 80], [24, 36, 16], [1280, 70, 67]];
  for (const weightF16 of [false, true]) {
    for (const [M, N, K] of shapes) for (const kernel of ['tiled', 'direct'] as const) {
      it(`M=${M} N=${N} K=${K} weights ${weightF16 ? 'f16' : 'f32'} ${kernel}`, async () => {
        const rt = await testRuntime();
        const { normal } = seededRandom(`backward-linear weights ${M}x${N}x${K}`);
        const w = randomArray(N * K, normal, 0.5);
        const r = await checkLinearBackward(rt, { M, N, K, dtype: weightF16 ? 'f16' : 'f32', kernel }, weightF16 ? packF16(w) : w, weightF16 ? roundToF16(w) : w);
        expect(r.firstBad).toBe(-1);
        expect(r.errDx).toBeLessThan(1e-5);
        expect(r.errScore).toBeLessThan(1e-5);
      });
    }
  }

  // W bound in row windows (as an LM head over maxStorageBufferBindingSize): dX sums the windows, the score their partials.
  for (const dtype of ['f32', 'f16'] as const) for (const kernel of ['tiled', 'direct'] as const) it(`W in row windows (${dtype}, ${kernel})`, async () => {
    const rt = await testRuntime();
    const [M, N, K] = [19, 300, 64];
    const { normal } = seededRandom(`backward-linear windows ${dtype}`);
    const w = randomArray(N * K, normal, 0.5);
    const r = await checkLinearBackward(rt, { M, N, K, dtype, kernel, maxBindingBytes: 64 * K * 4 + 16 }, dtype === 'f16' ? packF16(w) : w, dtype === 'f16' ? roundToF16(w) : w);
    expect(r.firstBad).toBe(-1);
    expect(r.errDx).toBeLessThan(1e-5);
    expect(r.errScore).toBeLessThan(1e-5);
  });

  for (const kernel of ['tiled', 'direct'] as const) it(`accumulates dX and the score slot; overwrites the score slot (${kernel})`, async () => {
    const rt = await testRuntime();
    const [M, N, K] = [37, 45, 23];
    const { normal } = seededRandom('backward-linear accumulate');
    const dy = randomArray(M * N, normal);
    const x = randomArray(M * K, normal);
    const w = randomArray(N * K, normal);
    const dx0 = randomArray(M * K, normal);
    const dX = uploadBuffer(rt.device, dx0, 'dX');
    const scores = uploadBuffer(rt.device, new Float32Array([7, 0.5]), 'scores');
    const bufs = { M, N, K, dtype: 'f32' as const, kernel, dy: uploadBuffer(rt.device, dy, 'dY'), w: uploadBuffer(rt.device, w, 'W') };
    const x0 = uploadBuffer(rt.device, x, 'X');
    const acc = new LinearBackward(rt, { ...bufs, dx: dX, accumulate: true });
    const accScore = new LinearScore(rt, { ...bufs, x: x0, score: { scores, slot: 1, accumulate: true } });
    const setScore = new LinearScore(rt, { ...bufs, x: x0, score: { scores, slot: 0 } });
    runPass(rt, (pass) => {
      acc.encode(pass);
      accScore.encode(pass);
      setScore.encode(pass);
    });
    const out = await readF32(rt.device, dX, M * K);
    const s = await readF32(rt.device, scores, 2);
    const ref = linearBackwardRef(dy, w, x, M, N, K);
    const expected = ref.dx.map((v, i) => v + dx0[i]!);
    expect(relativeError(out, expected)).toBeLessThan(1e-5);
    expect(Math.abs(s[0]! - ref.score) / ref.score).toBeLessThan(1e-5);
    expect(Math.abs(s[1]! - (0.5 + ref.score)) / ref.score).toBeLessThan(1e-5);
  });

  it('binds dY and dX as windows of larger buffers (offsets)', async () => {
    const rt = await testRuntime();
    const [M, N, K] = [5, 64, 19];
    const { normal } = seededRandom('backward-linear windows');
    const dy = randomArray(M * N, normal);
    const w = randomArray(N * K, normal);
    const x = randomArray(M * K, normal);
    const pad = 256 / 4; // minStorageBufferOffsetAlignment in floats
    const big = new Float32Array(pad + M * N);
    big.set(dy, pad);
    const dXbig = poisonedF32(rt, pad + M * K, 'dX big');
    const scores = poisonedF32(rt, 1, 'scores');
    const args = {
      M, N, K, dtype: 'f32' as const,
      dy: { buffer: uploadBuffer(rt.device, big, 'dY big'), offset: 256, size: M * N * 4 },
      w: uploadBuffer(rt.device, w, 'W'),
    };
    const op = new LinearBackward(rt, { ...args, dx: { buffer: dXbig, offset: 256, size: M * K * 4 } });
    const scoreOp = new LinearScore(rt, { ...args, x: uploadBuffer(rt.device, x, 'X'), score: { scores, slot: 0 } });
    runPass(rt, (pass) => {
      op.encode(pass);
      scoreOp.encode(pass);
    });
    const out = await readF32(rt.device, dXbig, M * K, 256);
    const ref = linearBackwardRef(dy, w, x, M, N, K);
    expect(relativeError(out, ref.dx)).toBeLessThan(1e-5);
    expect(Math.abs((await readF32(rt.device, scores, 1))[0]! - ref.score) / ref.score).toBeLessThan(1e-5);
  });
});
