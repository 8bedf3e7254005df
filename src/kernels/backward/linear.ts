import code from '../../../shaders/backward_linear.wgsl?raw';
import { isCpuAdapter } from '../../gpu/device';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import type { StorageDType } from '../../gpu/tensor';
import { weightConstants } from '../../quant/formats';
import { encodeAll, prepare, type Buf, type Dispatch } from '../common';
import { ScoreReduce, type ScoreTarget } from './score-reduce';

const shader = { name: 'backward_linear', code };
const TILE = 64;

/**
 * tiled: 64x64 tiles in workgroup memory (GPUs); direct: one thread per 8x8 register block, no
 * workgroup memory (CPU adapters). Default by adapter.
 */
export type LinearBackwardKernel = 'tiled' | 'direct';

/** The layer y[M, N] = x[M, K] W[N, K]^T whose backward is taken: rows (B*T), output and input features. */
export interface LinearBackwardShape {
  M: number;
  N: number;
  K: number;
  /** How W is stored (f32, f16 packed two per u32, or q8 / q4 rows: dequantized as read). */
  dtype: StorageDType;
  kernel?: LinearBackwardKernel;
}

function setup(rt: GpuRuntime, a: LinearBackwardShape) {
  const kernel = a.kernel ?? (isCpuAdapter(rt.ctx.adapter) ? 'direct' : 'tiled');
  const direct = kernel === 'direct';
  const params = rt.uniform(packParams([{ u32: a.M }, { u32: a.N }, { u32: a.K }]), 'backward_linear.params');
  const blocks = (rows: number, cols: number) => Math.ceil(rows / 8) * Math.ceil(cols / 8);
  // tiled: workgroups (cols, rows) of 64x64 tiles; direct: 64 threads of 8x8 blocks a workgroup.
  const grid = (rows: number, cols: number): readonly [number, number] =>
    direct ? rt.grid(Math.ceil(blocks(rows, cols) / 64)) : [Math.ceil(cols / TILE), Math.ceil(rows / TILE)];
  return { kernel, direct, params, blocks, grid };
}

export interface LinearBackwardArgs extends LinearBackwardShape {
  /** Gradient of the layer output, f32 [M, N]. */
  dy: Buf;
  /** The weight W[N, K]. */
  w: Buf;
  /** Gradient of the layer input, f32 [M, K]. */
  dx: Buf;
  /** dx += dy W instead of dx = dy W (several layers reading the same input, or a residual). */
  accumulate?: boolean;
}

/** Linear backward through a frozen weight: dx = dy W. One dispatch. */
export class LinearBackward {
  readonly kernel: LinearBackwardKernel;
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: LinearBackwardArgs) {
    const s = setup(rt, a);
    this.kernel = s.kernel;
    this.dispatch = prepare(rt, shader, s.direct ? 'dx_direct' : 'dx', { ...weightConstants(a.dtype), ACCUMULATE: a.accumulate ?? false },
      { 0: s.params, 1: a.dy, 2: a.w, 3: a.dx }, s.grid(a.M, a.K));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

export interface LinearScoreArgs extends LinearBackwardShape {
  /** Gradient of the layer output, f32 [M, N]. */
  dy: Buf;
  /** The weight W[N, K]. */
  w: Buf;
  /** The layer's forward input, f32 [M, K]. */
  x: Buf;
  score: ScoreTarget;
}

/**
 * The fused Taylor score sum |W * dy^T x| into score.scores[slot]: dW is formed tile by tile and never
 * stored. Two dispatches (score, reduce); all M rows must be in one call (|.| is applied to the
 * gradient summed over the whole batch).
 */
export class LinearScore {
  readonly kernel: LinearBackwardKernel;
  private readonly dispatch: Dispatch;
  private readonly reduce: ScoreReduce;

  constructor(rt: GpuRuntime, a: LinearScoreArgs) {
    const s = setup(rt, a);
    this.kernel = s.kernel;
    const partials = s.direct ? s.blocks(a.N, a.K) : Math.ceil(a.K / TILE) * Math.ceil(a.N / TILE);
    this.reduce = new ScoreReduce(rt, partials, a.score, 'backward_linear');
    this.dispatch = prepare(rt, shader, s.direct ? 'score_direct' : 'score', weightConstants(a.dtype),
      { 0: s.params, 1: a.dy, 2: a.w, 4: a.x, 5: this.reduce.partials }, s.grid(a.N, a.K));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
    this.reduce.encode(pass);
  }
}
