import { createStorageBuffer } from '../gpu/buffers';
import { isCpuAdapter } from '../gpu/device';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { shaderOf } from '../gpu/wgsl-include';
import { bindAt, encodeAll, reductionWorkgroup, type Dispatch, type StepBuffer } from './common';

/** attention.wgsl with RoPE applied inside the cache kernels (binding 9, inv_freq) or without. */
const shader = (rope = false) => shaderOf(['attention.wgsl', rope ? 'attention/rope.wgsl' : 'attention/no_rope.wgsl']);

export interface AttentionShape {
  /** Sequences and tokens per sequence in this call (rows = B*T, batch-major). */
  B: number;
  T: number;
  nHeads: number;
  nKvHeads: number;
  /** Even, at most 256 (LLaMA: 64 or 128; Gemma 256; Qwen3 from its config). */
  headDim: number;
  /** Sliding window: a query at position t sees keys t - window < s <= t. Absent or null: all earlier keys. */
  window?: number | null;
}

function checkShape(s: AttentionShape): void {
  if (s.headDim % 2 !== 0 || s.headDim > 256) throw new Error(`attention: head_dim ${s.headDim} must be even and <= 256`);
  if (s.window != null && (!Number.isSafeInteger(s.window) || s.window < 1)) throw new Error(`attention: window ${s.window} must be a positive integer`);
  if (s.nHeads % s.nKvHeads !== 0) throw new Error('attention: nHeads must be a multiple of nKvHeads');
}

function params(rt: GpuRuntime, s: AttentionShape, maxLen: number, nsplit: number): GPUBuffer {
  return rt.uniform(
    packParams([
      { u32: s.B }, { u32: s.T }, { u32: s.nHeads }, { u32: s.nKvHeads }, { u32: maxLen }, { u32: nsplit },
      { f32: 1 / Math.sqrt(s.headDim) }, { u32: Math.min(s.window ?? 0, 0xffffffff) },
    ]),
    'attention.params',
  );
}

/**
 * Causal flash attention over the T tokens of each sequence (no cache): q [B*T, H*D], k, v
 * [B*T, KVH*D] -> out [B*T, H*D] and the logsumexp of each query row's scaled scores, lse [B*T, H]
 * (what the backward needs besides out; one f32 per row and head). Used by the batched forward
 * (scoring, perplexity, the backward's recompute). Kernel `tiled` (GPUs: 16x16 query/key tiles in
 * workgroup memory) or `direct` (CPU adapters: one thread per query row, no workgroup memory);
 * default by adapter.
 */
export class AttentionPrefill {
  private readonly dispatch: Dispatch;
  readonly kernel: 'tiled' | 'direct';

  constructor(rt: GpuRuntime, a: AttentionShape & { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; out: GPUBuffer; lse: GPUBuffer; kernel?: 'tiled' | 'direct' }) {
    checkShape(a);
    const smem = (16 * a.headDim + 512) * 4;
    const fits = smem <= rt.device.limits.maxComputeWorkgroupStorageSize;
    this.kernel = a.kernel ?? (isCpuAdapter(rt.ctx.adapter) || !fits ? 'direct' : 'tiled');
    const direct = this.kernel === 'direct';
    if (!direct && !fits) {
      throw new Error(`attention prefill: head_dim ${a.headDim} needs ${smem} B of workgroup memory (limit ${rt.device.limits.maxComputeWorkgroupStorageSize})`);
    }
    // The direct kernel's vec4 views need head_dim % 4 == 0; other head dims take its scalar form.
    const entry = !direct ? 'prefill' : a.headDim % 4 === 0 ? 'prefill_direct' : 'prefill_direct_any';
    const pipeline = rt.pipelines.get(shader(), entry, { D: a.headDim });
    const bindGroup = bindAt(rt, pipeline, { 0: params(rt, a, 0, 1), 2: a.q, 3: a.k, 4: a.v, 5: a.out, 10: a.lse }, 'attention.prefill');
    const groups = direct ? Math.ceil((a.B * a.nHeads * a.T) / 64) : a.B * a.nHeads * Math.ceil(a.T / 16);
    this.dispatch = { pipeline, bindGroup, grid: rt.grid(groups) };
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

/** One layer's KV cache: k and v buffers [B, KVH, maxLen, headDim] f32. */
export class KvCache {
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;

  constructor(rt: GpuRuntime, readonly B: number, readonly nKvHeads: number, readonly headDim: number, readonly maxLen: number) {
    const bytes = B * nKvHeads * maxLen * headDim * 4;
    this.k = createStorageBuffer(rt.device, bytes, 'kv.k');
    this.v = createStorageBuffer(rt.device, bytes, 'kv.v');
  }
}

/** RoPE applied inside the cache kernels: q and k are given un-rotated, the inv_freq table [D/2] f32 (ropeTable). */
export interface FusedRope {
  invFreq: GPUBuffer;
}

/** Binding 9 of the rope.wgsl variant; the no_rope one has none. */
function ropeBinding(rope?: FusedRope): Record<number, GPUBuffer> {
  return rope ? { 9: rope.invFreq } : {};
}

/**
 * Appends this call's k, v rows ([B*T, KVH*D], after RoPE, or before it with `rope`) to a KvCache at
 * positions step.pos0 + t. With AttentionPrefill this fills the cache from a prompt (pos0 = 0) using the
 * flash kernel for the prompt's own outputs; AttentionDecode dispatches it for T > 1 (with T = 1 its
 * split pass appends the row itself).
 */
export class KvWrite {
  readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: AttentionShape & { k: GPUBuffer; v: GPUBuffer; cache: KvCache; step: StepBuffer; rope?: FusedRope }) {
    checkShape(a);
    const pipeline = rt.pipelines.get(shader(a.rope !== undefined), 'kv_write', { D: a.headDim });
    const u = params(rt, a, a.cache.maxLen, 1);
    this.dispatch = {
      pipeline,
      bindGroup: bindAt(rt, pipeline, { 0: u, 1: a.step.buffer, 3: a.k, 4: a.v, 6: a.cache.k, 7: a.cache.v, ...ropeBinding(a.rope) }, 'attention.kv_write'),
      grid: rt.grid(Math.ceil((a.B * a.T * a.nKvHeads * a.headDim) / 256)),
    };
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

/**
 * Splits of the decode cache. A real GPU needs hundreds of workgroups to hide memory latency, and a
 * batch-1 step has only KVH (kv head, split) pairs per split: 256 groups in all (splits are strided,
 * so they all have work even early in a long cache), at least 4 positions each. A software adapter
 * runs few cores and pays per workgroup: splits of 128 positions (256 beyond 2048) there.
 */
function splitCount(rt: GpuRuntime, pairs: number, maxLen: number): number {
  const bySize = Math.ceil(maxLen / (maxLen <= 2048 ? 128 : 256));
  if (isCpuAdapter(rt.ctx.adapter)) return bySize;
  return Math.max(bySize, Math.min(Math.ceil(256 / pairs), Math.ceil(maxLen / 4)));
}

/**
 * Appends this call's k, v rows ([B*T, KVH*D]) to a cache at positions step.pos0 + t, then (encode)
 * attends this call's queries over cache positions 0 .. pos0 + t (causal), split along the cache into
 * nsplit interleaved sets of at most `splitLen` keys, merged in a second dispatch. T = 1 is decode
 * (two dispatches: the split pass writes the new row); T > 1 is a prompt or chunked prefill (three). `out` [B*T, H*D]. The step buffer must hold pos0 when the
 * pass executes.
 */
export class AttentionDecode {
  private readonly dispatches: Dispatch[];
  readonly nsplit: number;
  readonly splitLen: number;
  /** Split partials [B*T, H, nsplit, D + 2] (acc[D], m, l), allocated here. */
  readonly partials: GPUBuffer;

  constructor(
    rt: GpuRuntime,
    a: AttentionShape & {
      q: GPUBuffer;
      k: GPUBuffer;
      v: GPUBuffer;
      cache: KvCache;
      out: GPUBuffer;
      step: StepBuffer;
      /** Most keys per split (default: see splitCount; capped to fit 16 KiB of workgroup memory). */
      splitLen?: number;
      /** q and k arrive before RoPE: rotate them here (no separate Rope dispatches in a decode step). */
      rope?: FusedRope;
      /** Threads per workgroup of the split and merge passes (default: reductionWorkgroup, 64 on GPUs). */
      workgroupSize?: number;
    },
  ) {
    checkShape(a);
    const { maxLen } = a.cache;
    const G = a.nHeads / a.nKvHeads;
    if (G > 16) throw new Error('attention: more than 16 query heads per kv head');
    // Workgroup memory of decode_split: (G*D + G*CH + G*WG + D) floats within 16 KiB.
    const WG = a.workgroupSize ?? reductionWorkgroup(rt, 64);
    const maxSplit = Math.floor((4096 - G * a.headDim - G * WG - a.headDim) / G);
    if (maxSplit < 1) throw new Error('attention: head group too large for workgroup memory');
    const rows = a.B * a.T;
    this.nsplit = Math.max(Math.ceil(maxLen / maxSplit), a.splitLen ? Math.ceil(maxLen / a.splitLen) : splitCount(rt, rows * a.nKvHeads, maxLen));
    this.splitLen = Math.ceil(maxLen / this.nsplit);
    const D = a.headDim;
    // One token per sequence (decode): the split pass appends it to the cache itself.
    const fusedWrite = a.T === 1;
    const constants = { D, CH: this.splitLen, WG, GQ: G, WRITE: fusedWrite };
    const u = params(rt, a, maxLen, this.nsplit);
    this.partials = createStorageBuffer(rt.device, rows * a.nHeads * this.nsplit * (D + 2) * 4, 'attention.partials');
    const split = rt.pipelines.get(shader(a.rope !== undefined), 'decode_split', constants);
    const reduce = rt.pipelines.get(shader(), 'decode_reduce', constants);
    const c = a.cache;
    this.dispatches = [
      ...(fusedWrite ? [] : [new KvWrite(rt, a).dispatch]),
      {
        pipeline: split,
        bindGroup: bindAt(rt, split, { 0: u, 1: a.step.buffer, 2: a.q, 3: a.k, 4: a.v, 6: c.k, 7: c.v, 8: this.partials, ...ropeBinding(a.rope) }, 'attention.decode_split'),
        grid: rt.grid(rows * a.nKvHeads * this.nsplit),
      },
      {
        pipeline: reduce,
        bindGroup: bindAt(rt, reduce, { 0: u, 8: this.partials, 5: a.out }, 'attention.decode_reduce'),
        grid: rt.grid(rows * a.nHeads),
      },
    ];
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
