import code from '../../shaders/statistics.wgsl?raw';
import { createStorageBuffer } from '../gpu/buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { elementCount } from '../gpu/tensor';
import { weightConstants } from '../quant/formats';
import { ScoreReduce } from './backward/score-reduce';
import { bindAt, encodeAll, reductionWorkgroup, type Dispatch } from './common';

const shader = { name: 'statistics', code };
/** Elements per abs_sum workgroup: enough work per group, few partials to fold. */
const PER_GROUP = 16384;

/** sum |W| of a weight tensor into scores[slot] (f32), for the magnitude criterion (quantized: of the dequantized W). */
export class AbsSum {
  private readonly dispatch: Dispatch;
  private readonly reduce: ScoreReduce;

  constructor(rt: GpuRuntime, weight: GpuTensor, scores: GPUBuffer, slot: number) {
    const n = elementCount(weight.shape);
    const groups = Math.ceil(n / PER_GROUP);
    this.reduce = new ScoreReduce(rt, groups, { scores, slot }, 'abs_sum');
    const pipeline = rt.pipelines.get(shader, 'abs_sum', { WG: reductionWorkgroup(rt, 256), ...weightConstants(weight.dtype) });
    const params = rt.uniform(packParams([{ u32: n }, { u32: PER_GROUP }, { u32: weight.shape[weight.shape.length - 1] ?? 1 }]), 'abs_sum.params');
    this.dispatch = { pipeline, bindGroup: bindAt(rt, pipeline, { 0: params, 1: weight.buffer, 2: this.reduce.partials }, 'abs_sum'), grid: rt.grid(groups) };
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
    this.reduce.encode(pass);
  }

  destroy(): void {
    this.reduce.partials.destroy();
  }
}

/** out[r] = cos(a_r, b_r) for rows of length dim (a, b: f32 [rows, dim]). */
export class RowCosine {
  private readonly dispatch: Dispatch;
  readonly out: GPUBuffer;

  constructor(rt: GpuRuntime, rows: number, dim: number, a: GPUBuffer, b: GPUBuffer, out?: GPUBuffer) {
    this.out = out ?? createStorageBuffer(rt.device, rows * 4, 'row_cosine.out');
    const pipeline = rt.pipelines.get(shader, 'row_cosine', { WG: reductionWorkgroup(rt, 256), W_F16: false });
    const params = rt.uniform(packParams([{ u32: rows }, { u32: dim }]), 'row_cosine.params');
    this.dispatch = { pipeline, bindGroup: bindAt(rt, pipeline, { 0: params, 3: a, 4: b, 5: this.out }, 'row_cosine'), grid: rt.grid(rows) };
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
