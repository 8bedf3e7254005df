import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import type { GpuRuntime } from '../../src/gpu/runtime';
import { LinearBackward, LinearScore, type LinearBackwardShape } from '../../src/kernels/backward/linear';
import { poisonedF32, runPass } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';

/** float64 reference of the linear backward (y = x W^T, W[N, K]) and its Taylor score. */
export function linearBackwardRef(
  dy: ArrayLike<number>, w: ArrayLike<number>, x: ArrayLike<number>, M: number, N: number, K: number,
): { dx: Float64Array; dw: Float64Array; score: number } {
  const dx = new Float64Array(M * K);
  const dw = new Float64Array(N * K);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = dy[m * N + n]!;
      if (g === 0) continue;
      for (let k = 0; k < K; k++) {
        dx[m * K + k] += g * w[n * K + k]!;
        dw[n * K + k] += g * x[m * K + k]!;
      }
    }
  }
  return { dx, dw, score: taylorScore(w, dw) };
}

/** sum |W * G| in float64. */
export function taylorScore(w: ArrayLike<number>, g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += Math.abs(w[i]! * g[i]!);
  return s;
}

/** y[M, N] = x[M, K] W[N, K]^T in float64. */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = s;
    }
  }
  return y;
}

/**
 * Runs LinearBackward (dX) and LinearScore on seeded random dy and x for a weight uploaded as `stored`
 * (the kernel's storage of `dtype`) whose values as the kernel reads them are `values`; returns the
 * relative errors against the float64 reference and the first non-finite dX element (-1 if none).
 */
export async function checkLinearBackward(
  rt: GpuRuntime,
  c: LinearBackwardShape & { maxBindingBytes?: number },
  stored: ArrayBufferView,
  values: ArrayLike<number>,
): Promise<{ errDx: number; errScore: number; firstBad: number }> {
  const { M, N, K } = c;
  const { normal } = seededRandom(`backward-linear ${c.dtype} ${M}x${N}x${K} ${c.kernel ?? ''}`);
  const dy = randomArray(M * N, normal);
  const x = randomArray(M * K, normal);
  const dX = poisonedF32(rt, M * K, 'dX');
  const scores = poisonedF32(rt, 3, 'scores');
  const args = { ...c, dy: uploadBuffer(rt.device, dy, 'dY'), w: uploadBuffer(rt.device, stored, 'W') };
  const op = new LinearBackward(rt, { ...args, dx: dX });
  const scoreOp = new LinearScore(rt, { ...args, x: uploadBuffer(rt.device, x, 'X'), score: { scores, slot: 1 } });
  runPass(rt, (pass) => {
    op.encode(pass);
    scoreOp.encode(pass);
  });
  const out = await readF32(rt.device, dX, M * K);
  const score = (await readF32(rt.device, scores, 3))[1]!;
  const ref = linearBackwardRef(dy, values, x, M, N, K);
  const r = { errDx: relativeError(out, ref.dx), errScore: Math.abs(score - ref.score) / ref.score, firstBad: firstNonFinite(out) };
  console.log(`backward-linear ${c.dtype} ${M}x${N}x${K}: dX rel err ${r.errDx.toExponential(2)}, score rel err ${r.errScore.toExponential(2)}`);
  return r;
}
