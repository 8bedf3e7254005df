import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { AttentionBackward } from '../../src/kernels/backward/attention';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { attentionBackwardRef, attentionRef } from '../reference/backward-attention';

// O and lse come from the float64 reference (rounded to f32), so any head dimension is covered here;
// the forward kernel that writes them in the engine (AttentionPrefill) is checked in attention.test.ts.
describe('backward attention kernels (causal GQA, FA2-style backward from O and lse)', () => {
  // [B, T, H, KVH, D, threads per workgroup (0: the adapter's default, 4 on CPU adapters)]: single token;
  // GQA groups of 2 and 4; T > WG to cross key/query chunks; D > WG and odd; GPU-sized workgroups (64).
  const cases: [number, number, number, number, number, number][] = [
    [1, 1, 1, 1, 2, 0], [2, 7, 4, 2, 8, 0], [2, 70, 4, 1, 16, 0], [1, 130, 2, 2, 64, 0], [2, 9, 2, 1, 101, 0],
    [2, 70, 4, 1, 16, 64], [2, 9, 2, 1, 101, 64],
  ];
  // [B, T, H, KVH, D, threads, window]: sliding-window attention (Mistral, Qwen with use_sliding_window)
  const windowCases: [number, number, number, number, number, number, number][] = [
    [2, 19, 4, 2, 14, 0, 5], [1, 40, 2, 1, 18, 0, 7], [1, 33, 4, 2, 16, 0, 6], [2, 9, 2, 1, 8, 64, 3], [1, 12, 2, 2, 10, 0, 12],
  ];
  // every case with the tiled kernels; those whose head_dim allows vec4 views also with the direct ones (CPU adapters)
  const runs = [...cases.map((c) => [...c, 0] as const), ...windowCases].flatMap((c) => [
    [...c, 'tiled'] as const,
    ...(c[4] % 4 === 0 && c[5] === 0 ? [[...c, 'direct'] as const] : []),
  ]);
  for (const [B, T, H, KVH, D, threads, window, kernel] of runs) {
    it(`${kernel} B=${B} T=${T} H=${H} KVH=${KVH} D=${D}${threads ? ` WG ${threads}` : ''}${window ? ` window ${window}` : ''}`, async () => {
      const rt = await testRuntime();
      const rows = B * T;
      const refShape = { rows, seqLen: T, heads: H, kvHeads: KVH, headDim: D, window: window || null };
      const { normal } = seededRandom(`backward-attention ${B}x${T}x${H}x${KVH}x${D}`);
      // scores ~ N(0, 4): peaked but not one-hot softmax rows
      const q = randomArray(rows * H * D, normal, 2);
      const k = randomArray(rows * KVH * D, normal);
      const v = randomArray(rows * KVH * D, normal);
      const dO = randomArray(rows * H * D, normal);
      const bufs = { q: uploadBuffer(rt.device, q, 'q'), k: uploadBuffer(rt.device, k, 'k'), v: uploadBuffer(rt.device, v, 'v') };
      const fwd = attentionRef(q, k, v, refShape);
      const o = uploadBuffer(rt.device, Float32Array.from(fwd.o), 'o');
      const lse = uploadBuffer(rt.device, Float32Array.from(fwd.lse), 'lse');
      const dQ = poisonedF32(rt, rows * H * D, 'dQ');
      const dK = poisonedF32(rt, rows * KVH * D, 'dK');
      const dV = poisonedF32(rt, rows * KVH * D, 'dV');
      const bwd = new AttentionBackward(rt, {
        B, T, nHeads: H, nKvHeads: KVH, headDim: D, workgroupSize: threads || undefined, window: window || null, kernel,
        ...bufs, out: o, lse, dOut: uploadBuffer(rt.device, dO, 'dO'), dq: dQ, dk: dK, dv: dV,
      });
      runPass(rt, (pass) => bwd.encode(pass));
      const out = {
        dq: await readF32(rt.device, dQ, rows * H * D),
        dk: await readF32(rt.device, dK, rows * KVH * D),
        dv: await readF32(rt.device, dV, rows * KVH * D),
      };
      const ref = attentionBackwardRef(q, k, v, dO, refShape);
      const errs: string[] = [];
      for (const key of ['dq', 'dk', 'dv'] as const) {
        expect(firstNonFinite(out[key]), key).toBe(-1);
        const e = relativeError(out[key], ref[key]);
        errs.push(`${key} ${e.toExponential(2)}`);
        expect(e, key).toBeLessThan(1e-5);
      }
      console.log(`rel err: ${errs.join(', ')}`);
    });
  }
});
