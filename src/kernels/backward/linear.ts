import code from '../../../shaders/backward_linear.wgsl?raw';
import { isCpuAdapter } from '../../gpu/device';
import type { GpuRuntime } from '../../gpu/runtime';
import { prepare, type Buf, ScoreReduce, u32Params, type Dispatch, type ScoreTarget } from './common';

const shader = { name: 'backward_linear', code };
const TILE = 64;

export interface LinearBackwardArgs {
  /** Rows (B*T), output features, input features: y[M, N] = x[M, K] W[N, K]^T. */
  M: number;
  N: number;
  K: number;
  /** W stored as f16 packed two per u32 (true) or f32 (false). */
  weightF16: boolean;
  /** Gradient of the layer output, f32 [M, N]. */
  dY: Buf;
  /** The weight W[N, K]. */
  W: Buf;
  /** Gradient of the layer input, f32 [M, K]; omit to skip dX (e.g. the first layer). */
  dX?: Buf;
  /** dX += dY W instead of dX = dY W (several layers reading the same input, or a residual). */
  accumulate?: boolean;
  /** Forward input x[M, K] and the score slot; omit both to skip the score (e.g. the LM head). */
  X?: Buf;
  score?: ScoreTarget;
}

/**
 * Linear backward: dX = dY W and the fused Taylor score sum |W * dY^T X| into score.scores[slot].
 * encode() records up to three dispatches (dx, score, reduce) into the pass; all M rows must be in
 * one call for the score (|.| is applied to the gradient summed over the whole batch).
 */
export class LinearBackward {
  private readonly dispatches: Dispatch[] = [];
  private readonly reduce?: ScoreReduce;

  readonly kernel: 'tiled' | 'direct';

  constructor(rt: GpuRuntime, a: LinearBackwardArgs & { kernel?: 'tiled' | 'direct' }) {
    this.kernel = a.kernel ?? (isCpuAdapter(rt.ctx.adapter) ? 'direct' : 'tiled');
    const params = u32Params(rt, 'backward_linear.params', a.M, a.N, a.K);
    // tiled: 64x64 tiles, workgroups (cols, rows); direct: one thread per 8x8 block, 64 a workgroup.
    const direct = this.kernel === 'direct';
    const blocks = (rows: number, cols: number) => Math.ceil(rows / 8) * Math.ceil(cols / 8);
    const grid = (rows: number, cols: number): [number, number?] =>
      direct ? rt.grid(Math.ceil(blocks(rows, cols) / 64)) : [Math.ceil(cols / TILE), Math.ceil(rows / TILE)];
    if (a.dX) {
      this.dispatches.push(prepare(rt, shader, direct ? 'dx_direct' : 'dx', { W_F16: a.weightF16, ACCUMULATE: a.accumulate ?? false },
        { 0: params, 1: a.dY, 2: a.W, 3: a.dX }, grid(a.M, a.K)));
    }
    if (a.score) {
      if (!a.X) throw new Error('LinearBackward: the score needs the forward input X');
      const partials = direct ? blocks(a.N, a.K) : Math.ceil(a.K / TILE) * Math.ceil(a.N / TILE);
      this.reduce = new ScoreReduce(rt, partials, a.score, 'backward_linear');
      this.dispatches.push(prepare(rt, shader, direct ? 'score_direct' : 'score', { W_F16: a.weightF16 },
        { 0: params, 1: a.dY, 2: a.W, 4: a.X, 5: this.reduce.partials }, grid(a.N, a.K)));
    }
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const d of this.dispatches) d.encode(pass);
    this.reduce?.encode(pass);
  }
}
