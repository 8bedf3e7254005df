import code from '../../../shaders/backward_attention.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import { isCpuAdapter } from '../../gpu/device';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import type { AttentionShape } from '../attention';
import { encodeAll, prepare, reductionWorkgroup, type Buf, type Dispatch } from '../common';

const shader = { name: 'backward_attention', code };

export interface AttentionBackwardArgs extends AttentionShape {
  /** Threads per workgroup of the tiled kernels: power of two (default reductionWorkgroup, 64 on GPUs). Any headDim works there. */
  workgroupSize?: number;
  /**
   * `tiled` (workgroup memory, one workgroup per row and head) or `direct` (one thread per row and head,
   * for CPU adapters; head_dim a multiple of 4). Default: direct on CPU adapters where head_dim allows.
   */
  kernel?: 'tiled' | 'direct';
  /** Post-RoPE q, k, v of the forward pass, f32. */
  q: Buf;
  k: Buf;
  v: Buf;
  /** The forward's output O [rows, nHeads*headDim] and logsumexp [rows, nHeads] (AttentionPrefill writes both). */
  out: Buf;
  lse: Buf;
  /** Gradient of O (the o_proj dx), [rows, nHeads*headDim]. */
  dOut: Buf;
  /** Outputs, written (not accumulated): dq [rows, nHeads*headDim], dk and dv [rows, nKvHeads*headDim] (post-RoPE). */
  dq: Buf;
  dk: Buf;
  dv: Buf;
}

/** Causal (optionally sliding-window) GQA attention backward over B sequences of T rows: `dq` (also writes delta = rowsum(dOut * O)) then `dkv`. */
export class AttentionBackward {
  readonly kernel: 'tiled' | 'direct';
  /** f32 [rows, nHeads] scratch: delta_i = rowsum(dOut_i * O_i), allocated here. */
  readonly delta: GPUBuffer;
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: AttentionBackwardArgs) {
    if (a.nHeads % a.nKvHeads !== 0) throw new Error('attention backward: nHeads must be a multiple of nKvHeads');
    const rows = a.B * a.T;
    const params = rt.uniform(packParams([
      { u32: rows }, { u32: a.T }, { u32: a.nHeads }, { u32: a.nKvHeads }, { u32: a.headDim }, { f32: 1 / Math.sqrt(a.headDim) }, { u32: a.window ?? 0 },
    ]), 'backward_attention.params');
    // Workgroup caches hold one head vector; round up to a multiple of 64 so few specializations exist.
    const constants = { WG: a.workgroupSize ?? reductionWorkgroup(rt, 64), MAX_D: Math.max(64, Math.ceil(a.headDim / 64) * 64) };
    this.delta = createStorageBuffer(rt.device, rows * a.nHeads * 4, 'backward_attention.delta');
    this.kernel = a.kernel ?? (isCpuAdapter(rt.ctx.adapter) && a.headDim % 4 === 0 ? 'direct' : 'tiled');
    if (this.kernel === 'direct') {
      if (a.headDim % 4 !== 0) throw new Error(`attention backward: the direct kernel needs head_dim % 4 == 0, got ${a.headDim}`);
      const threads = (n: number) => rt.grid(Math.ceil(n / 64));
      this.dispatches = [
        prepare(rt, shader, 'dq_direct', {},
          { 0: params, 1: a.q, 2: a.k, 3: a.v, 6: a.out, 7: a.lse, 8: a.dOut, 9: a.dq, 10: this.delta }, threads(rows * a.nHeads)),
        prepare(rt, shader, 'dkv_direct', {},
          { 0: params, 1: a.q, 2: a.k, 3: a.v, 7: a.lse, 8: a.dOut, 11: this.delta, 12: a.dk, 13: a.dv }, threads(rows * a.nKvHeads)),
      ];
      return;
    }
    this.dispatches = [
      prepare(rt, shader, 'dq', constants,
        { 0: params, 1: a.q, 2: a.k, 3: a.v, 6: a.out, 7: a.lse, 8: a.dOut, 9: a.dq, 10: this.delta }, rt.grid(rows * a.nHeads)),
      prepare(rt, shader, 'dkv', constants,
        { 0: params, 1: a.q, 2: a.k, 3: a.v, 7: a.lse, 8: a.dOut, 11: this.delta, 12: a.dk, 13: a.dv }, rt.grid(rows * a.nKvHeads)),
    ];
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
