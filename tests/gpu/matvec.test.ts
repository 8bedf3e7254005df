import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { Matvec } from '../../src/kernels/matvec';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { checkLinear, linearRef, type LinearCase } from '../reference/linear';
import { rmsnormRef } from '../reference/rmsnorm';

describe('decode matvec', () => {
  const cases: Omit<LinearCase, 'f16'>[] = [
    { M: 1, N: 1, K: 8, epilogue: 'store' },
    { M: 1, N: 67, K: 33, epilogue: 'store' }, // K odd: scalar path
    { M: 3, N: 130, K: 200, epilogue: 'store' }, // 16-byte chunks, N not a multiple of R
    { M: 8, N: 37, K: 72, epilogue: 'residual' },
    { M: 1, N: 45, K: 1000, epilogue: 'residual' },
    { M: 2, N: 53, K: 51, epilogue: 'swiglu' },
    { M: 8, N: 29, K: 64, epilogue: 'swiglu' },
    { M: 1, N: 300, K: 64, epilogue: 'store', maxBindingBytes: 64 * 64 * 4 }, // weight in row windows
    { M: 1, N: 1024, K: 1536, epilogue: 'store' }, // moderately large
    // RMSNorm fused in (decode blocks): q/k/v and gate/up shapes, the LM head in windows, scalar path.
    { M: 1, N: 96, K: 128, epilogue: 'store', norm: true },
    { M: 3, N: 70, K: 64, epilogue: 'swiglu', norm: true },
    { M: 1, N: 300, K: 64, epilogue: 'store', maxBindingBytes: 64 * 64 * 4, norm: true },
    { M: 2, N: 31, K: 45, epilogue: 'store', norm: true },
  ];
  for (const subgroups of [true, false]) {
    for (const f16 of [false, true]) {
      cases.forEach((c, i) => {
        // Alternate the adapter's default workgroup size with 64 threads (the GPU default).
        const workgroupSize = i % 2 === 1 ? 64 : undefined;
        const name = `${c.M}x${c.N}x${c.K} ${c.epilogue}${c.norm ? ' +norm' : ''} ${f16 ? 'f16' : 'f32'}${c.maxBindingBytes ? ' windowed' : ''} ${subgroups ? 'subgroups' : 'workgroup-memory'}${workgroupSize ? ' wg64' : ''}`;
        it(name, async () => {
          const rt = await testRuntime();
          if (subgroups && !rt.ctx.adapter.hasSubgroups) return; // fallback covered below
          const { rel, firstBad } = await checkLinear(rt, 'matvec', { ...c, f16 }, (a) => {
            const op = new Matvec(rt, { ...a, subgroups, workgroupSize });
            expect(op.usesSubgroups).toBe(subgroups);
            return op;
          });
          console.log(`matvec ${name}: rel ${rel.toExponential(2)}`);
          expect(firstBad).toBe(-1);
          expect(rel).toBeLessThan(1e-5);
        });
      });
    }
  }

  // q, k and v of a decode block in one dispatch (three weights, three outputs), RMSNorm fused in.
  // [M, Nq, Nk, K]: LLaMA-like GQA widths; K not a multiple of 8 takes the scalar path.
  for (const [M, Nq, Nk, K] of [[1, 128, 64, 128], [3, 96, 32, 45]] as const) {
    for (const subgroups of [true, false]) {
      for (const f16 of [false, true]) {
        for (const workgroupSize of [undefined, 64]) {
          const name = `${M}x(${Nq}+${Nk}+${Nk})x${K} q/k/v +norm ${f16 ? 'f16' : 'f32'} ${subgroups ? 'subgroups' : 'workgroup-memory'}${workgroupSize ? ' wg64' : ''}`;
          it(name, async () => {
            const rt = await testRuntime();
            if (subgroups && !rt.ctx.adapter.hasSubgroups) return;
            const { normal } = seededRandom(`matvec qkv ${name}`);
            const x = randomArray(M * K, normal, 3);
            const g = randomArray(K, normal, 0.3).map((v) => 1 + v);
            const ws = [Nq, Nk, Nk].map((N) => randomArray(N * K, normal, 1 / Math.sqrt(K)));
            const up = (a: Float32Array) => uploadBuffer(rt.device, f16 ? packF16(a) : a, 'w');
            const ys = [Nq, Nk, Nk].map((N) => poisonedF32(rt, M * N, 'y'));
            const dtype = f16 ? 'f16' : 'f32';
            const op = new Matvec(rt, {
              M, N: Nq, K, dtype, x: uploadBuffer(rt.device, x, 'x'), w: up(ws[0]!), y: ys[0]!, subgroups, workgroupSize,
              norm: { weight: up(g), dtype, eps: 1e-5 },
              more: [{ w: up(ws[1]!), y: ys[1]!, N: Nk }, { w: up(ws[2]!), y: ys[2]!, N: Nk }],
            });
            runPass(rt, (pass) => op.encode(pass));
            const xn = rmsnormRef(x, f16 ? roundToF16(g) : g, M, K, 1e-5);
            for (const [i, N] of [Nq, Nk, Nk].entries()) {
              const out = await readF32(rt.device, ys[i]!, M * N);
              expect(firstNonFinite(out)).toBe(-1);
              const rel = relativeError(out, linearRef(xn, f16 ? roundToF16(ws[i]!) : ws[i]!, M, N, K));
              console.log(`matvec ${name} projection ${i}: rel ${rel.toExponential(2)}`);
              expect(rel).toBeLessThan(1e-5);
            }
          });
        }
      }
    }
  }
});
