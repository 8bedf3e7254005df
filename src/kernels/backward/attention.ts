import code from '../../../shaders/backward_attention.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { reductionWorkgroup } from '../common';
import { prepare, type Buf, type Dispatch } from './common';

const shader = { name: 'backward_attention', code };

export interface AttentionShape {
  /** B * T rows, batch-major; position of row r is r mod seqLen; causal within each sequence. */
  rows: number;
  seqLen: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Threads per workgroup (power of two; default: reductionWorkgroup, 64 on GPUs). */
  workgroupSize?: number;
}

function setup(rt: GpuRuntime, s: AttentionShape): { params: GPUBuffer; constants: { WG: number; MAX_D: number } } {
  if (s.heads % s.kvHeads !== 0) throw new Error('attention: heads must be a multiple of kvHeads');
  if (s.rows % s.seqLen !== 0) throw new Error('attention: rows must be a multiple of seqLen');
  const params = rt.uniform(packParams([
    { u32: s.rows }, { u32: s.seqLen }, { u32: s.heads }, { u32: s.kvHeads }, { u32: s.headDim }, { f32: 1 / Math.sqrt(s.headDim) },
  ]), 'backward_attention.params');
  // Workgroup caches hold one head vector; round up to a multiple of 64 so few specializations exist.
  return { params, constants: { WG: s.workgroupSize ?? reductionWorkgroup(rt, 64), MAX_D: Math.max(64, Math.ceil(s.headDim / 64) * 64) } };
}

export interface AttentionForwardArgs extends AttentionShape {
  /** Post-RoPE q [rows, H*D], k and v [rows, KVH*D], f32. */
  q: Buf;
  k: Buf;
  v: Buf;
  /** Outputs: attention output O [rows, H*D] and logsumexp [rows, H] of the scaled scores. */
  o: Buf;
  lse: Buf;
}

/**
 * Forward helper for the backward: O and the per-(row, head) logsumexp. To be merged with the forward
 * engineer's attention kernel if that one writes lse in the same [rows, H] layout.
 */
export class AttentionForward {
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: AttentionForwardArgs) {
    const { params, constants } = setup(rt, a);
    this.dispatch = prepare(rt, shader, 'forward', constants,
      { 0: params, 1: a.q, 2: a.k, 3: a.v, 4: a.o, 5: a.lse }, rt.grid(a.rows * a.heads));
  }

  encode(pass: GPUComputePassEncoder): void {
    this.dispatch.encode(pass);
  }
}

export interface AttentionBackwardArgs extends AttentionShape {
  /** Post-RoPE q, k, v of the forward pass, f32. */
  q: Buf;
  k: Buf;
  v: Buf;
  /** Forward output O [rows, H*D] and logsumexp [rows, H] (AttentionForward). */
  o: Buf;
  lse: Buf;
  /** Gradient of O (the o_proj dX), [rows, H*D]. */
  dO: Buf;
  /** Outputs, written (not accumulated): dQ [rows, H*D], dK and dV [rows, KVH*D] (post-RoPE). */
  dQ: Buf;
  dK: Buf;
  dV: Buf;
}

/** Causal GQA attention backward: `dq` (also writes delta = rowsum(dO * O)) then `dkv`. */
export class AttentionBackward {
  /** f32 [rows, H] scratch: delta_i = rowsum(dO_i * O_i), allocated here. */
  readonly delta: GPUBuffer;
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: AttentionBackwardArgs) {
    const { params, constants } = setup(rt, a);
    this.delta = createStorageBuffer(rt.device, a.rows * a.heads * 4, 'backward_attention.delta');
    this.dispatches = [
      prepare(rt, shader, 'dq', constants,
        { 0: params, 1: a.q, 2: a.k, 3: a.v, 6: a.o, 7: a.lse, 8: a.dO, 9: a.dQ, 10: this.delta }, rt.grid(a.rows * a.heads)),
      prepare(rt, shader, 'dkv', constants,
        { 0: params, 1: a.q, 2: a.k, 3: a.v, 7: a.lse, 8: a.dO, 11: this.delta, 12: a.dK, 13: a.dV }, rt.grid(a.rows * a.kvHeads)),
    ];
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const d of this.dispatches) d.encode(pass);
  }
}
