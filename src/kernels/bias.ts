/** Projection biases (Qwen2 / Qwen3): the forward add and the Taylor score (shaders/bias.wgsl). */
import code from '../../shaders/bias.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { ScoreReduce, type ScoreTarget } from './backward/score-reduce';
import { encodeAll, prepare, type Buf, type Dispatch } from './common';

const shader = { name: 'bias', code };
const WG = 256;

const params = (rt: GpuRuntime, rows: number, N: number) => rt.uniform(packParams([{ u32: rows }, { u32: N }]), 'bias.params');

/** y [rows, N] += b [N]. */
export class BiasAdd {
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: { rows: number; N: number; bias: GpuTensor; y: Buf }) {
    this.dispatch = prepare(rt, shader, 'add', { WG, W_F16: a.bias.dtype === 'f16' },
      { 0: params(rt, a.rows, a.N), 2: a.bias.buffer, 3: a.y }, rt.grid(Math.ceil((a.rows * a.N) / WG)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

/** Taylor score of a bias, sum_n |b_n * sum_rows dy_n| (dy: the layer's output gradient [rows, N]), into score.scores[slot]. */
export class BiasScore {
  private readonly dispatch: Dispatch;
  private readonly reduce: ScoreReduce;

  constructor(rt: GpuRuntime, a: { rows: number; N: number; bias: GpuTensor; dy: Buf; score: ScoreTarget }) {
    this.reduce = new ScoreReduce(rt, a.N, a.score, 'bias');
    this.dispatch = prepare(rt, shader, 'score', { WG, W_F16: a.bias.dtype === 'f16' },
      { 0: params(rt, a.rows, a.N), 1: a.dy, 2: a.bias.buffer, 4: this.reduce.partials }, rt.grid(Math.ceil(a.N / WG)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
    this.reduce.encode(pass);
  }
}
