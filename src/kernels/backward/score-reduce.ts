/**
 * The final per-tensor score reduction that every weight-scoring kernel ends with (the Taylor
 * scores of the backward, the magnitude criterion's sum |W|).
 */
import code from '../../../shaders/backward_reduce.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { encodeAll, prepare, reductionWorkgroup, type Buf, type Dispatch } from '../common';

/** Where a weight's score sum goes: `scores[slot]` (f32), set or accumulated. */
export interface ScoreTarget {
  /** f32 array, one slot per scored tensor (e.g. 9 per block). */
  scores: Buf;
  slot: number;
  /** Add to scores[slot] instead of overwriting it (e.g. to sum a block's 9 tensors in one slot). */
  accumulate?: boolean;
}

const reduceShader = { name: 'backward_reduce', code };

/**
 * scores[slot] (=|+=) sum(partials[0..count)): one workgroup, strided per-thread sums then a tree.
 * `partials` is allocated here (count f32) and handed to the kernel that fills it.
 */
export class ScoreReduce {
  readonly partials: GPUBuffer;
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, count: number, target: ScoreTarget, label: string) {
    this.partials = createStorageBuffer(rt.device, count * 4, `${label}.partials`);
    const params = rt.uniform(packParams([{ u32: count }, { u32: target.slot }]), `${label}.reduce.params`);
    this.dispatch = prepare(rt, reduceShader, 'main', { WG: reductionWorkgroup(rt, 256), ACCUMULATE: target.accumulate ?? false },
      { 0: params, 1: this.partials, 2: target.scores }, rt.grid(1));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
