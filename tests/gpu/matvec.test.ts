import { describe, expect, it } from 'vitest';
import { Matvec } from '../../src/kernels/matvec';
import { testRuntime } from '../helpers/gpu';
import { checkLinear, type LinearCase } from '../reference/linear';

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
});
