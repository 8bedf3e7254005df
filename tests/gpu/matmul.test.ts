import { describe, expect, it } from 'vitest';
import { Matmul, type MatmulKernel } from '../../src/kernels/matmul';
import { testRuntime } from '../helpers/gpu';
import { checkLinear, type LinearCase } from '../reference/linear';

describe('matmul (prefill): tiled, wide (with and without split K) and direct kernels', () => {
  const cases: Omit<LinearCase, 'f16'>[] = [
    { M: 1, N: 1, K: 1, epilogue: 'store' },
    { M: 37, N: 53, K: 67, epilogue: 'store' }, // nothing a multiple of a tile, K odd (scalar loads)
    { M: 70, N: 130, K: 96, epilogue: 'store' }, // vec4 loads, partial tiles
    { M: 65, N: 77, K: 45, epilogue: 'residual' },
    { M: 66, N: 64, K: 128, epilogue: 'residual' },
    { M: 33, N: 71, K: 29, epilogue: 'swiglu' },
    { M: 64, N: 96, K: 64, epilogue: 'swiglu' },
    { M: 20, N: 300, K: 64, epilogue: 'store', maxBindingBytes: 64 * 64 * 4 }, // weight in row windows
    { M: 256, N: 384, K: 512, epilogue: 'store' }, // moderately large
    { M: 9, N: 13, K: 24, epilogue: 'swiglu' }, // 8x8 blocks of the direct kernel cut at both edges
    { M: 130, N: 7, K: 8, epilogue: 'residual' }, // N below one block, one k chunk
  ];
  // The direct kernel (CPU adapters) reads k in chunks of 8: every case where K allows it. `wide` also
  // runs split into 3 K slices (uneven and partly empty ones; windowed weights fall back to 1).
  const variants = (K: number): { kernel: MatmulKernel; splitK?: number }[] => [
    { kernel: 'tiled' }, { kernel: 'wide', splitK: 1 }, { kernel: 'wide', splitK: 3 }, ...(K % 8 === 0 ? [{ kernel: 'direct' as const }] : []),
  ];
  for (const f16 of [false, true]) {
    for (const c of cases) {
      for (const v of variants(c.K)) {
        const name = `${c.M}x${c.N}x${c.K} ${c.epilogue} ${f16 ? 'f16' : 'f32'}${c.maxBindingBytes ? ' windowed' : ''} ${v.kernel}${v.splitK ? ` split ${v.splitK}` : ''}`;
        it(name, async () => {
          const rt = await testRuntime();
          let op: Matmul | undefined;
          const { rel, firstBad } = await checkLinear(rt, 'matmul', { ...c, f16 }, (a) => (op = new Matmul(rt, { ...a, ...v })));
          console.log(`matmul ${name}: rel ${rel.toExponential(2)}`);
          expect(firstBad).toBe(-1);
          expect(rel).toBeLessThan(1e-5);
          if (v.splitK) expect(op!.splitK).toBe(c.maxBindingBytes ? 1 : v.splitK);
        });
      }
    }
  }
});
