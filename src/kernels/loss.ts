import code from '../../shaders/loss.wgsl?raw';
import { createStorageBuffer, readF32 } from '../gpu/buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { bindAt, encodeAll, planRowSlices, reductionWorkgroup, type Dispatch } from './common';

const shader = { name: 'loss', code };

/** Label value meaning "no target at this position" (any value >= vocab works). */
export const IGNORE_LABEL = 0xffffffff;

export interface NllRowsArgs {
  /** Rows of logits in this call and vocabulary size. */
  rows: number;
  V: number;
  /** f32 logits [rows, V]. */
  logits: GPUBuffer;
  /** u32 labels for all B*T rows; row r of `logits` is global row rowOffset + r. */
  labels: GPUBuffer;
  /** f32 per-position NLL [B*T]; written at rowOffset .. rowOffset + rows - 1. */
  nll: GPUBuffer;
  rowOffset?: number;
  /** Test hook: pretend maxStorageBufferBindingSize is this many bytes. */
  maxBindingBytes?: number;
  /** Threads per row (power of two; default: reductionWorkgroup, 256 on GPUs). */
  workgroupSize?: number;
}

/** Per-position NLL (stable log-softmax) for a block of logits rows; windows logits over the binding limit. */
export class NllRows {
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: NllRowsArgs) {
    const pipeline = rt.pipelines.get(shader, 'nll_rows', { WG: a.workgroupSize ?? reductionWorkgroup(rt, 256) });
    this.dispatches = planRowSlices(rt, a.rows, a.V * 4, a.logits.size, a.maxBindingBytes).map((s) => {
      const params = rt.uniform(
        packParams([{ u32: s.rows }, { u32: a.V }, { u32: (a.rowOffset ?? 0) + s.row0 }, { u32: 0 }]),
        'nll_rows.params',
      );
      const logits = { buffer: a.logits, offset: s.offset, size: s.size };
      return { pipeline, bindGroup: bindAt(rt, pipeline, { 0: params, 1: logits, 2: a.labels, 3: a.nll }, 'nll_rows'), grid: rt.grid(s.rows) };
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}

/**
 * Per-sequence NLL sums and counts over B sequences of T rows: out [2*B] f32 = (sum, count) pairs,
 * allocated here. read() returns them (the only read-back a perplexity needs).
 */
export class SequenceNll {
  private readonly dispatch: Dispatch;
  readonly out: GPUBuffer;

  constructor(private readonly rt: GpuRuntime, private readonly a: { B: number; T: number; V: number; labels: GPUBuffer; nll: GPUBuffer }) {
    const pipeline = rt.pipelines.get(shader, 'seq_sum', { WG: reductionWorkgroup(rt, 256) });
    this.out = createStorageBuffer(rt.device, a.B * 8, 'nll.sequence');
    const params = rt.uniform(packParams([{ u32: a.B }, { u32: a.V }, { u32: 0 }, { u32: a.T }]), 'seq_sum.params');
    this.dispatch = { pipeline, bindGroup: bindAt(rt, pipeline, { 0: params, 2: a.labels, 3: a.nll, 4: this.out }, 'seq_sum'), grid: rt.grid(a.B) };
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }

  /** Per-sequence NLL sums and token counts (submit the pass first). */
  async read(): Promise<{ sums: Float64Array; counts: Float64Array }> {
    const raw = await readF32(this.rt.device, this.out, 2 * this.a.B);
    const sums = new Float64Array(this.a.B);
    const counts = new Float64Array(this.a.B);
    for (let b = 0; b < this.a.B; b++) {
      sums[b] = raw[2 * b]!;
      counts[b] = raw[2 * b + 1]!;
    }
    return { sums, counts };
  }
}
