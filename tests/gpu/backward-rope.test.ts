import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { RopeBackward } from '../../src/kernels/backward/rope';
import { ropeInvFreq } from '../../src/kernels/rope';
import { runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { ropeBackwardRef, ropeRef } from '../reference/backward-rope';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('backward rope kernel (transposed rotation, in place)', () => {
  // [batch, T, q heads, kv heads, headDim, theta]
  const cases: [number, number, number, number, number, number][] = [
    [1, 1, 1, 1, 2, 10000], [2, 7, 3, 1, 8, 10000], [3, 130, 2, 2, 64, 10000], [1, 300, 4, 1, 128, 500000],
  ];
  for (const [B, T, nHeads, nKvHeads, D, theta] of cases) {
    it(`B=${B} T=${T} heads=${nHeads}/${nKvHeads} D=${D} theta=${theta}`, async () => {
      const rt = await testRuntime();
      const rows = B * T;
      const { normal } = seededRandom(`backward-rope ${B}x${T}x${nHeads}x${D}`);
      const dq = randomArray(rows * nHeads * D, normal);
      const dk = randomArray(rows * nKvHeads * D, normal);
      const invFreq = Float32Array.from(ropeInvFreq(D, theta));
      const [dqBuf, dkBuf] = [uploadBuffer(rt.device, dq, 'dq'), uploadBuffer(rt.device, dk, 'dk')];
      const op = new RopeBackward(rt, { rows, T, headDim: D, nHeads, nKvHeads, dq: dqBuf, dk: dkBuf, theta });
      runPass(rt, (pass) => op.encode(pass));
      for (const [name, dy, buf, heads] of [['dq', dq, dqBuf, nHeads], ['dk', dk, dkBuf, nKvHeads]] as const) {
        const out = await readF32(rt.device, buf, rows * heads * D);
        expect(firstNonFinite(out), name).toBe(-1);
        const ref = ropeBackwardRef(dy, invFreq, rows, heads, D, T);
        // the reference backward is the adjoint of the reference forward: <R x, y> = <x, R^T y>
        const x = randomArray(rows * heads * D, normal);
        const lhs = dot(ropeRef(x, invFreq, rows, heads, D, T), dy);
        expect(Math.abs(lhs - dot(x, ref))).toBeLessThan(1e-9 * Math.sqrt(dy.length) * 10);
        const err = relativeError(out, ref);
        console.log(`rope backward ${name} rel err ${err.toExponential(2)}`);
        expect(err, name).toBeLessThan(1e-5);
      }
    });
  }
});
