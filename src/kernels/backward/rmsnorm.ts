import code from '../../../shaders/backward_rmsnorm.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { encodeAll, prepare, reductionWorkgroup, type Buf, type Dispatch } from '../common';
import { ScoreReduce, type ScoreTarget } from './score-reduce';

const shader = { name: 'backward_rmsnorm', code };

/** The norm y = rms(x) w whose backward is taken, as the forward RmsNorm names it. */
export interface RmsNormBackwardShape {
  rows: number;
  dim: number;
  eps: number;
  /** Weight stored as f16 packed two per u32 (true) or as f32 (false). */
  weightF16: boolean;
}

const params = (rt: GpuRuntime, a: RmsNormBackwardShape) =>
  rt.uniform(packParams([{ u32: a.rows }, { u32: a.dim }, { f32: a.eps }]), 'backward_rmsnorm.params');

export interface RmsNormBackwardArgs extends RmsNormBackwardShape {
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
}

/** RMSNorm backward through a frozen weight: dx per row (one dispatch), which also leaves 1/rms per row in `rinv`. */
export class RmsNormBackward {
  /** f32 [rows]: 1/rms per row, written by this op (scratch, allocated here; RmsNormScore reads it). */
  readonly rinv: GPUBuffer;
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: RmsNormBackwardArgs) {
    this.rinv = createStorageBuffer(rt.device, a.rows * 4, 'backward_rmsnorm.rinv');
    this.dispatch = prepare(rt, shader, 'dx', { WG: reductionWorkgroup(rt, 128), W_F16: a.weightF16, ACCUMULATE: a.accumulate ?? false },
      { 0: params(rt, a), 1: a.x, 2: a.w, 3: a.dy, 4: a.dx, 5: this.rinv }, rt.grid(a.rows));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

export interface RmsNormScoreArgs extends RmsNormBackwardShape {
  x: Buf;
  w: Buf;
  dy: Buf;
  /** 1/rms per row, from the RmsNormBackward of the same norm encoded before this op. */
  rinv: Buf;
  score: ScoreTarget;
}

/** Taylor score of the norm weight, sum_i |w_i * dL/dw_i| (column sums over all rows), into score.scores[slot]. */
export class RmsNormScore {
  private readonly dispatch: Dispatch;
  private readonly reduce: ScoreReduce;

  constructor(rt: GpuRuntime, a: RmsNormScoreArgs) {
    const WG = reductionWorkgroup(rt, 128);
    const groups = Math.ceil(a.dim / WG);
    this.reduce = new ScoreReduce(rt, groups, a.score, 'backward_rmsnorm');
    this.dispatch = prepare(rt, shader, 'dw_score', { WG, W_F16: a.weightF16 },
      { 0: params(rt, a), 1: a.x, 2: a.w, 3: a.dy, 5: a.rinv, 6: this.reduce.partials }, rt.grid(groups));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
    this.reduce.encode(pass);
  }
}
