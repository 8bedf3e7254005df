import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { AttentionDecode, AttentionPrefill, KvCache, KvWrite } from '../../src/kernels/attention';
import { StepBuffer } from '../../src/kernels/common';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { attentionRef } from '../reference/attention';
import { attentionRef as attentionLseRef } from '../reference/backward-attention';
import { ropeRef } from '../reference/rope';
import { ropeInvFreq, ropeTable } from '../../src/kernels/rope';

/** Rows [t0, t1) of every sequence of a [B*T, width] matrix. */
function rowsOf(a: Float32Array, B: number, T: number, width: number, t0: number, t1: number): Float32Array {
  const out = new Float32Array(B * (t1 - t0) * width);
  for (let b = 0; b < B; b++) out.set(a.subarray((b * T + t0) * width, (b * T + t1) * width), b * (t1 - t0) * width);
  return out;
}

describe('causal GQA attention', () => {
  // [B, T, H, KVH, D]
  const prefillCases: [number, number, number, number, number][] = [
    [1, 1, 2, 1, 32],
    [2, 19, 4, 2, 64],
    [1, 37, 8, 2, 128],
    [3, 33, 6, 3, 32],
    [1, 160, 8, 4, 64], // moderately large
  ];
  // Family shapes: head dims that are not multiples of 16 (or 4: the direct kernel's scalar form), Gemma's
  // 256, and sliding windows shorter than the sequence (last entry: the window, 0 = none).
  const familyCases: [number, number, number, number, number, number][] = [
    [2, 21, 3, 1, 14, 5], [1, 37, 4, 2, 18, 0], [2, 19, 4, 2, 8, 7], [1, 20, 2, 1, 256, 0], [1, 33, 2, 2, 12, 16], [1, 9, 2, 1, 10, 40],
  ];
  for (const [B, T, H, KVH, D, window] of [...prefillCases.map((c) => [...c, 0] as const), ...familyCases]) for (const kernel of ['tiled', 'direct'] as const) {
    it(`prefill B${B} T${T} H${H}/${KVH} D${D}${window ? ` window ${window}` : ''} ${kernel}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`attention prefill ${B} ${T} ${H} ${KVH} ${D}`);
      const rows = B * T;
      const q = randomArray(rows * H * D, normal, 1.5);
      const k = randomArray(rows * KVH * D, normal, 1.5);
      const v = randomArray(rows * KVH * D, normal);
      const out = poisonedF32(rt, rows * H * D);
      const lse = poisonedF32(rt, rows * H);
      const op = new AttentionPrefill(rt, {
        B, T, nHeads: H, nKvHeads: KVH, headDim: D, kernel, window: window || null,
        q: uploadBuffer(rt.device, q, 'q'), k: uploadBuffer(rt.device, k, 'k'), v: uploadBuffer(rt.device, v, 'v'), out, lse,
      });
      runPass(rt, (pass) => op.encode(pass));
      const got = await readF32(rt.device, out, rows * H * D);
      const gotLse = await readF32(rt.device, lse, rows * H);
      expect(firstNonFinite(got)).toBe(-1);
      expect(firstNonFinite(gotLse)).toBe(-1);
      const rel = relativeError(got, attentionRef(q, k, v, B, T, T, H, KVH, D, window || null));
      // the logsumexp of each row's scaled scores, which the backward recomputes the softmax from
      const relLse = relativeError(gotLse, attentionLseRef(q, k, v, { rows, seqLen: T, heads: H, kvHeads: KVH, headDim: D, window: window || null }).lse);
      console.log(`attention prefill B${B} T${T} H${H}/${KVH} D${D} ${kernel}: rel ${rel.toExponential(2)}, lse ${relLse.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-5);
      expect(relLse).toBeLessThan(1e-6);
    });
  }

  // Cache path: the first T1 tokens are appended in one call (pos0 = 0), then the next T - T1 tokens
  // attend over the cache (pos0 = T1). T - T1 = 1 is a decode step; it must equal the prefill rows.
  // [B, T, T1, H, KVH, D, maxLen, splitLen, threads per workgroup (0: the adapter's default)]
  const cacheCases: [number, number, number, number, number, number, number, number, number?][] = [
    [2, 21, 20, 4, 2, 32, 40, 16], // decode, several splits, some empty
    [1, 45, 44, 8, 2, 64, 64, 16],
    [2, 17, 16, 4, 1, 128, 17, 8], // cache exactly full after the step
    [1, 30, 27, 4, 4, 64, 48, 16], // chunked prefill: 3 new tokens over a cache
    [1, 41, 40, 8, 2, 64, 200, 2], // 100 interleaved splits of <= 2 keys, most of them partly empty
    [1, 13, 12, 4, 2, 32, 300, 0], // the default split count for this adapter
    [2, 21, 20, 4, 2, 32, 40, 16, 64], // GPU workgroups (64 threads) on any adapter
    [1, 30, 27, 4, 4, 64, 48, 16, 64],
  ];
  // With a sliding window (last entry) and family head dims: decode steps and a chunk past the window.
  const windowCacheCases: [number, number, number, number, number, number, number, number, number, number][] = [
    [2, 21, 20, 4, 2, 14, 40, 4, 0, 5], [1, 30, 27, 3, 1, 10, 48, 16, 0, 7], [1, 41, 40, 4, 2, 8, 200, 2, 0, 9],
    [1, 13, 12, 2, 1, 256, 16, 0, 0, 4], [2, 21, 20, 4, 2, 18, 40, 4, 64, 6],
  ];
  for (const [B, T, T1, H, KVH, D, maxLen, splitLen, threads, window] of [...cacheCases.map(([b, t, t1, h, kvh, d, len, split, threads]) => [b, t, t1, h, kvh, d, len, split, threads ?? 0, 0] as const), ...windowCacheCases]) {
    it(`cache B${B} T${T} (${T1} cached + ${T - T1}) H${H}/${KVH} D${D} maxLen ${maxLen} split ${splitLen}${threads ? ` WG ${threads}` : ''}${window ? ` window ${window}` : ''}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`attention cache ${B} ${T} ${T1} ${D}`);
      const rows = B * T;
      const q = randomArray(rows * H * D, normal, 1.5);
      const k = randomArray(rows * KVH * D, normal, 1.5);
      const v = randomArray(rows * KVH * D, normal);
      const T2 = T - T1;
      const cache = new KvCache(rt, B, KVH, D, maxLen);
      const step = new StepBuffer(rt);
      const shape = { nHeads: H, nKvHeads: KVH, headDim: D, window: window || null };
      const up = (a: Float32Array, name: string) => uploadBuffer(rt.device, a, name);
      // Call 1: T1 tokens per sequence; its outputs are not checked here (prefill covers them). Even T1:
      // flash prefill + KvWrite (how a prompt fills the cache); odd T1: chunked attention over the cache.
      const first1 = {
        ...shape, B, T: T1, cache, step, splitLen: splitLen || undefined, workgroupSize: threads || undefined,
        q: up(rowsOf(q, B, T, H * D, 0, T1), 'q1'), k: up(rowsOf(k, B, T, KVH * D, 0, T1), 'k1'),
        v: up(rowsOf(v, B, T, KVH * D, 0, T1), 'v1'), out: poisonedF32(rt, B * T1 * H * D), lse: poisonedF32(rt, B * T1 * H),
      };
      const viaPrefill = T1 % 2 === 0;
      const firstOps = viaPrefill
        ? [new AttentionPrefill(rt, first1), new KvWrite(rt, first1)]
        : [new AttentionDecode(rt, first1)];
      const first = { encode: (pass: GPUComputePassEncoder) => firstOps.forEach((op) => op.encode(pass)) };
      const out = poisonedF32(rt, B * T2 * H * D);
      const second = new AttentionDecode(rt, {
        ...shape, B, T: T2, cache, step, splitLen: splitLen || undefined, workgroupSize: threads || undefined, out,
        q: up(rowsOf(q, B, T, H * D, T1, T), 'q2'), k: up(rowsOf(k, B, T, KVH * D, T1, T), 'k2'),
        v: up(rowsOf(v, B, T, KVH * D, T1, T), 'v2'),
      });
      step.set(0);
      runPass(rt, (pass) => first.encode(pass));
      step.set(T1);
      runPass(rt, (pass) => second.encode(pass));
      const got = await readF32(rt.device, out, B * T2 * H * D);
      expect(firstNonFinite(got)).toBe(-1);
      const ref = attentionRef(rowsOf(q, B, T, H * D, T1, T), k, v, B, T2, T, H, KVH, D, window || null);
      const rel = relativeError(got, ref);

      // The same rows from the flash prefill kernel over all T tokens.
      const full = poisonedF32(rt, rows * H * D);
      const prefill = new AttentionPrefill(rt, { ...shape, B, T, q: up(q, 'q'), k: up(k, 'k'), v: up(v, 'v'), out: full, lse: poisonedF32(rt, rows * H) });
      runPass(rt, (pass) => prefill.encode(pass));
      const lastRows = rowsOf(await readF32(rt.device, full, rows * H * D), B, T, H * D, T1, T);
      const vsPrefill = relativeError(got, lastRows);
      console.log(`attention cache B${B} T${T1}${viaPrefill ? ' (prefill+KvWrite)' : ''}+${T2} D${D}: rel ${rel.toExponential(2)}, vs prefill ${vsPrefill.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-5);
      expect(vsPrefill).toBeLessThan(1e-5);
    });
  }

  // Generation passes q and k un-rotated: the cache write and the split attention apply RoPE at
  // positions pos0 + t themselves (llama3 scaling here), which must equal RoPE first, then attention.
  // The second decode step attends to the row the first one appended inside its split pass.
  it('applies RoPE inside the cache kernels (fused): a 20-token prompt, then two decode steps', async () => {
    const rt = await testRuntime();
    const [B, T, H, KVH, D, maxLen] = [2, 22, 4, 2, 64, 40];
    const { normal } = seededRandom('attention fused rope');
    const rows = B * T;
    const q = randomArray(rows * H * D, normal, 1.5);
    const k = randomArray(rows * KVH * D, normal, 1.5);
    const v = randomArray(rows * KVH * D, normal);
    const scaling = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 };
    const inv = new Float32Array(ropeInvFreq(D, 500000, scaling));
    const angle = (pos: number, i: number) => Math.fround(pos * inv[i]!);
    const qr = ropeRef(q, rows, T, H, D, 0, angle);
    const kr = ropeRef(k, rows, T, KVH, D, 0, angle);
    const cache = new KvCache(rt, B, KVH, D, maxLen);
    const step = new StepBuffer(rt);
    const rope = { invFreq: ropeTable(rt, D, 500000, scaling) };
    const up = (a: Float32Array, name: string) => uploadBuffer(rt.device, a, name);
    const call = (t0: number, t1: number) => {
      const out = poisonedF32(rt, B * (t1 - t0) * H * D);
      const op = new AttentionDecode(rt, {
        B, T: t1 - t0, nHeads: H, nKvHeads: KVH, headDim: D, cache, step, out, rope, splitLen: 16,
        q: up(rowsOf(q, B, T, H * D, t0, t1), 'q'), k: up(rowsOf(k, B, T, KVH * D, t0, t1), 'k'), v: up(rowsOf(v, B, T, KVH * D, t0, t1), 'v'),
      });
      step.set(t0);
      runPass(rt, (pass) => op.encode(pass));
      return out;
    };
    const calls = [[0, 20], [20, 21], [21, 22]] as const;
    const outs = calls.map(([t0, t1]) => call(t0, t1));
    for (const [i, [t0, t1]] of calls.entries()) {
      const got = await readF32(rt.device, outs[i]!, B * (t1 - t0) * H * D);
      expect(firstNonFinite(got)).toBe(-1);
      const keys = (a: ArrayLike<number>) => rowsOf(Float32Array.from(a), B, T, KVH * D, 0, t1);
      const ref = attentionRef(rowsOf(Float32Array.from(qr), B, T, H * D, t0, t1), keys(kr), keys(v), B, t1 - t0, t1, H, KVH, D);
      const rel = relativeError(got, ref);
      console.log(`attention fused rope rows ${t0}..${t1}: rel ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-5);
    }
  });
});
