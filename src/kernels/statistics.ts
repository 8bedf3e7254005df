import code from '../../shaders/statistics.wgsl?raw';
import { createStorageBuffer } from '../gpu/buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { elementCount } from '../gpu/tensor';
import { weightConstants } from '../quant/formats';
import { ScoreReduce } from './backward/score-reduce';
import { bindAt, encodeAll, planWeightSlices, reductionWorkgroup, type Dispatch } from './common';

const shader = { name: 'statistics', code };
/** Elements per abs_sum workgroup: enough work per group, few partials to fold. */
const PER_GROUP = 16384;

/**
 * sum |W| of a weight tensor into scores[slot] (f32), for the magnitude criterion (quantized: of the
 * dequantized W). A tensor over the binding limit is read in row windows, one dispatch each, every
 * window's partial sums at its own aligned range of the partials (the gaps stay zero).
 */
export class AbsSum {
  private readonly dispatches: Dispatch[];
  private readonly reduce: ScoreReduce;

  /** maxBindingBytes: test hook, pretend maxStorageBufferBindingSize is this many bytes. */
  constructor(rt: GpuRuntime, weight: GpuTensor, scores: GPUBuffer, slot: number, maxBindingBytes?: number) {
    const cols = weight.shape[weight.shape.length - 1] ?? 1;
    const rows = elementCount(weight.shape) / cols;
    const windows = planWeightSlices(rt, rows, cols, weight.dtype, weight.buffer, maxBindingBytes);
    const groupsOf = (r: number) => Math.ceil((r * cols) / PER_GROUP);
    const align = rt.device.limits.minStorageBufferOffsetAlignment / 4;
    const starts = windows.map((_, i) => windows.slice(0, i).reduce((sum, w) => sum + Math.ceil(groupsOf(w.rows) / align) * align, 0));
    const last = windows.length - 1;
    this.reduce = new ScoreReduce(rt, starts[last]! + groupsOf(windows[last]!.rows), { scores, slot }, 'abs_sum');
    const pipeline = rt.pipelines.get(shader, 'abs_sum', { WG: reductionWorkgroup(rt, 256), ...weightConstants(weight.dtype) });
    this.dispatches = windows.map((win, i) => {
      const params = rt.uniform(packParams([{ u32: win.rows * cols }, { u32: PER_GROUP }, { u32: cols }]), 'abs_sum.params');
      const resources = {
        0: params, 1: { buffer: weight.buffer, offset: win.offset, size: win.size },
        2: { buffer: this.reduce.partials, offset: starts[i]! * 4, size: groupsOf(win.rows) * 4 },
      };
      return { pipeline, bindGroup: bindAt(rt, pipeline, resources, 'abs_sum'), grid: rt.grid(groupsOf(win.rows)) };
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
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
