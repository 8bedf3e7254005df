/**
 * Shared pieces of the backward kernels: a prepared dispatch (pipeline + bind group + grid built once)
 * and the final per-tensor score reduction that every weight-scoring kernel ends with.
 */
import code from '../../../shaders/backward_reduce.wgsl?raw';
import type { Constants } from '../../gpu/pipelines';
import { createStorageBuffer } from '../../gpu/buffers';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { reductionWorkgroup } from '../common';

/** Where a weight's Taylor score sum |W * dL/dW| goes: `scores[slot]` (f32), set or accumulated. */
export interface ScoreTarget {
  /** f32 array, one slot per scored tensor (e.g. 9 per block). */
  scores: Buf;
  slot: number;
  /** Add to scores[slot] instead of overwriting it (e.g. to sum a block's 9 tensors in one slot). */
  accumulate?: boolean;
}

/** A whole buffer, or a window of one ({ buffer, offset, size }), e.g. a row chunk of a large tensor. */
export type Buf = GPUBuffer | GPUBufferBinding;

/** One compute dispatch with everything built at construction. */
export class Dispatch {
  constructor(
    readonly pipeline: GPUComputePipeline,
    readonly bindGroup: GPUBindGroup,
    readonly workgroups: readonly [number, number, number],
  ) {}

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.workgroups[0], this.workgroups[1], this.workgroups[2]);
  }
}

/**
 * Builds a Dispatch. `bindings` maps binding number -> buffer: entry points of one backward_*.wgsl
 * file use different subsets of the module's bindings, and layout 'auto' only holds the used ones.
 */
export function prepare(
  rt: GpuRuntime,
  shader: { name: string; code: string },
  entryPoint: string,
  constants: Constants,
  bindings: Record<number, Buf>,
  workgroups: readonly [number, number?, number?],
): Dispatch {
  const pipeline = rt.pipelines.get(shader, entryPoint, constants);
  const bindGroup = rt.device.createBindGroup({
    label: `${shader.name}.${entryPoint}`,
    layout: pipeline.getBindGroupLayout(0),
    entries: Object.entries(bindings).map(([binding, b]) => ({
      binding: Number(binding),
      resource: b instanceof GPUBuffer ? { buffer: b } : b,
    })),
  });
  return new Dispatch(pipeline, bindGroup, [Math.max(1, workgroups[0]), workgroups[1] ?? 1, workgroups[2] ?? 1]);
}

/** Uniform struct of u32 fields in declaration order. */
export function u32Params(rt: GpuRuntime, label: string, ...values: number[]): GPUBuffer {
  return rt.uniform(packParams(values.map((u32) => ({ u32 }))), label);
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
    const params = u32Params(rt, `${label}.reduce.params`, count, target.slot);
    this.dispatch = prepare(rt, reduceShader, 'main', { WG: reductionWorkgroup(rt, 256), ACCUMULATE: target.accumulate ?? false },
      { 0: params, 1: this.partials, 2: target.scores }, [1]);
  }

  encode(pass: GPUComputePassEncoder): void {
    this.dispatch.encode(pass);
  }
}
