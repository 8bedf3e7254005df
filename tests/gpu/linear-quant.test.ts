import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { Embedding } from '../../src/kernels/embedding';
import { Matmul, type MatmulKernel } from '../../src/kernels/matmul';
import { Matvec } from '../../src/kernels/matvec';
import { AbsSum } from '../../src/kernels/statistics';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { checkLinearBackward } from '../reference/backward-linear';
import { checkLinear, type LinearCase } from '../reference/linear';
import { quantizeRef } from '../reference/quant';

// Every kernel that reads a weight, on q8 and q4 storage, against float64 references on the dequantized
// weights (tests/reference/quant.ts packs them, independently of the GPU quantizer).
describe('kernels on quantized weights', () => {
  for (const format of ['q8', 'q4'] as const) {
    const matvecCases: Omit<LinearCase, 'f16'>[] = [
      { M: 1, N: 67, K: 40, epilogue: 'store', format }, // partial last group, 16-byte chunks
      { M: 3, N: 37, K: 45, epilogue: 'residual', format }, // K odd: scalar path
      { M: 2, N: 53, K: 96, epilogue: 'swiglu', format, norm: true },
      { M: 1, N: 300, K: 64, epilogue: 'store', format, maxBindingBytes: 4096 }, // row windows
    ];
    for (const subgroups of [true, false]) {
      for (const c of matvecCases) {
        const name = `matvec ${format} ${c.M}x${c.N}x${c.K} ${c.epilogue}${c.norm ? ' +norm' : ''}${c.maxBindingBytes ? ' windowed' : ''} ${subgroups ? 'subgroups' : 'workgroup-memory'}`;
        it(name, async () => {
          const rt = await testRuntime();
          if (subgroups && !rt.ctx.adapter.hasSubgroups) return;
          const { rel, firstBad } = await checkLinear(rt, 'matvec', { ...c, f16: false }, (a) => new Matvec(rt, { ...a, subgroups }));
          console.log(`${name}: rel ${rel.toExponential(2)}`);
          expect(firstBad).toBe(-1);
          expect(rel).toBeLessThan(1e-5);
        });
      }
    }

    it(`matvec ${format} q/k/v in one dispatch`, async () => {
      const rt = await testRuntime();
      const [M, Nq, Nk, K] = [2, 64, 32, 72];
      const { normal } = seededRandom(`matvec qkv ${format}`);
      const x = randomArray(M * K, normal);
      const ws = [Nq, Nk, Nk].map((N) => randomArray(N * K, normal, 0.2));
      const qs = ws.map((w, i) => quantizeRef(w, [Nq, Nk, Nk][i]!, K, format));
      const ys = [Nq, Nk, Nk].map((N) => poisonedF32(rt, M * N, 'y'));
      const up = (i: number) => uploadBuffer(rt.device, qs[i]!.words, 'w');
      const op = new Matvec(rt, { M, N: Nq, K, dtype: format, x: uploadBuffer(rt.device, x, 'x'), w: up(0), y: ys[0]!,
        more: [{ w: up(1), y: ys[1]!, N: Nk }, { w: up(2), y: ys[2]!, N: Nk }] });
      runPass(rt, (pass) => op.encode(pass));
      for (const [i, N] of [Nq, Nk, Nk].entries()) {
        const out = await readF32(rt.device, ys[i]!, M * N);
        const ref = new Float64Array(M * N);
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) ref[m * N + n] += x[m * K + k]! * qs[i]!.values[n * K + k]!;
        expect(relativeError(out, ref)).toBeLessThan(1e-5);
      }
    });

    const matmulCases: Omit<LinearCase, 'f16'>[] = [
      { M: 37, N: 53, K: 67, epilogue: 'store', format }, // K odd: scalar loads
      { M: 70, N: 130, K: 96, epilogue: 'residual', format },
      { M: 9, N: 13, K: 40, epilogue: 'swiglu', format },
      { M: 20, N: 300, K: 64, epilogue: 'store', format, maxBindingBytes: 4096 },
    ];
    for (const c of matmulCases) {
      const kernels: { kernel: MatmulKernel; splitK?: number }[] = [
        { kernel: 'tiled' }, { kernel: 'wide', splitK: 1 }, { kernel: 'wide', splitK: 3 }, ...(c.K % 8 === 0 ? [{ kernel: 'direct' as const }] : []),
      ];
      for (const v of kernels) {
        const name = `matmul ${format} ${c.M}x${c.N}x${c.K} ${c.epilogue}${c.maxBindingBytes ? ' windowed' : ''} ${v.kernel}${v.splitK ? ` split ${v.splitK}` : ''}`;
        it(name, async () => {
          const rt = await testRuntime();
          const { rel, firstBad } = await checkLinear(rt, 'matmul', { ...c, f16: false }, (a) => new Matmul(rt, { ...a, ...v }));
          console.log(`${name}: rel ${rel.toExponential(2)}`);
          expect(firstBad).toBe(-1);
          expect(rel).toBeLessThan(1e-5);
        });
      }
    }

    for (const [M, N, K] of [[13, 70, 33], [65, 17, 129]] as const) {
      for (const kernel of ['tiled', 'direct'] as const) {
        it(`backward dX and Taylor score ${format} M=${M} N=${N} K=${K} ${kernel}`, async () => {
          const rt = await testRuntime();
          const { normal } = seededRandom(`backward-linear weights ${format} ${M}x${N}x${K}`);
          const q = quantizeRef(randomArray(N * K, normal, 0.5), N, K, format);
          const r = await checkLinearBackward(rt, { M, N, K, dtype: format, kernel }, q.words, q.values);
          expect(r.firstBad).toBe(-1);
          expect(r.errDx).toBeLessThan(1e-5);
          expect(r.errScore).toBeLessThan(1e-5);
        });
      }
    }

    it(`magnitude sum |W| and the embedding gather on ${format} rows`, async () => {
      const rt = await testRuntime();
      const [V, dim] = [41, 72];
      const { normal, uniform } = seededRandom(`quant abs-sum embedding ${format}`);
      const q = quantizeRef(randomArray(V * dim, normal, 0.1), V, dim, format);
      const table = uploadBuffer(rt.device, q.words, 'table');
      const scores = poisonedF32(rt, 1, 'scores');
      const sum = new AbsSum(rt, { name: 't', buffer: table, dtype: format, shape: [V, dim] }, scores, 0, 16 * 112 + 16); // in row windows
      const ids = Uint32Array.from({ length: 9 }, () => Math.floor(uniform() * V));
      const y = poisonedF32(rt, ids.length * dim, 'y');
      // Row windows of 16 rows (the offset alignment step of these rows), so the gather crosses windows.
      const embed = new Embedding(rt, { rows: ids.length, V, dim, dtype: format, ids: uploadBuffer(rt.device, ids, 'ids'), table, y, maxBindingBytes: 16 * 128 + 16 });
      runPass(rt, (pass) => {
        sum.encode(pass);
        embed.encode(pass);
      });
      const ref = q.values.reduce((s, v) => s + Math.abs(v), 0);
      expect(Math.abs((await readF32(rt.device, scores, 1))[0]! - ref) / ref).toBeLessThan(1e-5);
      const rows = await readF32(rt.device, y, ids.length * dim);
      const want = Array.from(ids).flatMap((id) => Array.from(q.values.subarray(id * dim, (id + 1) * dim)));
      // Exact: a code times an f16 scale fits an f32 (compared by value, so -0 equals 0).
      expect(rows.every((v, i) => v === want[i])).toBe(true);
    });
  }
});
