import code from '../../../shaders/backward_rmsnorm.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { reductionWorkgroup } from '../common';
import { prepare, type Buf, ScoreReduce, type Dispatch, type ScoreTarget } from './common';

const shader = { name: 'backward_rmsnorm', code };

export interface RmsNormBackwardArgs {
  rows: number;
  dim: number;
  eps: number;
  weightF16: boolean;
  /** The norm's forward input, f32 [rows, dim]. */
  x: Buf;
  /** The norm weight [dim]. */
  w: Buf;
  /** Gradient of the norm's output, f32 [rows, dim]. */
  dy: Buf;
  /** Gradient of the norm's input, f32 [rows, dim]; must not alias x or dy. */
  dx: Buf;
  /** dx += (norm backward) instead of dx = ...: dx already holds the residual stream's gradient. */
  accumulate?: boolean;
  /** Taylor score sum_i |w_i * dL/dw_i|; omit to skip (e.g. the final norm, which is not a block weight). */
  score?: ScoreTarget;
}

/** RMSNorm backward: dx (per row) then, optionally, the weight score (column sums over all rows). */
export class RmsNormBackward {
  /** f32 [rows]: 1/rms per row, written by the dx dispatch (scratch, allocated here). */
  readonly rinv: GPUBuffer;
  private readonly dispatches: Dispatch[] = [];
  private readonly reduce?: ScoreReduce;

  constructor(rt: GpuRuntime, a: RmsNormBackwardArgs) {
    const params = rt.uniform(packParams([{ u32: a.rows }, { u32: a.dim }, { f32: a.eps }]), 'backward_rmsnorm.params');
    this.rinv = createStorageBuffer(rt.device, a.rows * 4, 'backward_rmsnorm.rinv');
    const WG = reductionWorkgroup(rt, 128);
    this.dispatches.push(prepare(rt, shader, 'dx', { WG, W_F16: a.weightF16, ACCUMULATE: a.accumulate ?? false },
      { 0: params, 1: a.x, 2: a.w, 3: a.dy, 4: a.dx, 5: this.rinv }, rt.grid(a.rows)));
    if (a.score) {
      const groups = Math.ceil(a.dim / WG);
      this.reduce = new ScoreReduce(rt, groups, a.score, 'backward_rmsnorm');
      this.dispatches.push(prepare(rt, shader, 'dw_score', { WG, W_F16: a.weightF16 },
        { 0: params, 1: a.x, 2: a.w, 3: a.dy, 5: this.rinv, 6: this.reduce.partials }, [groups]));
    }
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const d of this.dispatches) d.encode(pass);
    this.reduce?.encode(pass);
  }
}
