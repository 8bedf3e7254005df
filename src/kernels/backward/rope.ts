import code from '../../../shaders/backward_rope.wgsl?raw';
import { uploadBuffer } from '../../gpu/buffers';
import type { GpuRuntime } from '../../gpu/runtime';
import { prepare, type Buf, u32Params, type Dispatch } from './common';

const shader = { name: 'backward_rope', code };
const WG = 256;

export interface RopeBackwardArgs {
  rows: number;
  heads: number;
  headDim: number;
  /** Tokens per sequence: the position of row r is pos0 + r mod seqLen. */
  seqLen: number;
  pos0?: number;
  /** inv_freq table [headDim / 2] (f32, as the forward's kernels/rope.ts builds it): uploaded here when given as an array. */
  invFreq: Float32Array | Buf;
  /** f32 [rows, heads * headDim], in place: gradient w.r.t. the rotated q (or k) in, pre-RoPE out. */
  grad: Buf;
}

/** RoPE backward (transposed rotation), in place. One dispatch. */
export class RopeBackward {
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: RopeBackwardArgs) {
    if (a.headDim % 2 !== 0) throw new Error('RopeBackward: headDim must be even');
    const half = a.headDim / 2;
    const params = u32Params(rt, 'backward_rope.params', a.rows, a.heads, half, a.seqLen, a.pos0 ?? 0);
    const invFreq = a.invFreq instanceof Float32Array ? uploadBuffer(rt.device, a.invFreq, 'backward_rope.inv_freq') : a.invFreq;
    this.dispatch = prepare(rt, shader, 'main', { WG }, { 0: params, 1: invFreq, 2: a.grad },
      rt.grid(Math.ceil((a.rows * a.heads * half) / WG)));
  }

  encode(pass: GPUComputePassEncoder): void {
    this.dispatch.encode(pass);
  }
}
