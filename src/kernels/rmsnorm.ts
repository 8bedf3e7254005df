import code from '../../shaders/rmsnorm.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { reductionWorkgroup } from './common';

const shader = { name: 'rmsnorm', code };

export interface RmsNormArgs {
  rows: number;
  dim: number;
  eps: number;
  /** Weight stored as f16 packed two per u32 (true) or as f32 (false). */
  weightF16: boolean;
  x: GPUBuffer;
  w: GPUBuffer;
  y: GPUBuffer;
  /** Threads per row (power of two; default: reductionWorkgroup, 128 on GPUs). */
  workgroupSize?: number;
}

/** A prepared RMSNorm dispatch: pipeline, uniforms and bind group built once, encoded many times. */
export class RmsNorm {
  private readonly pipeline: GPUComputePipeline;
  private readonly bindGroup: GPUBindGroup;
  private readonly workgroups: [number, number];

  constructor(rt: GpuRuntime, a: RmsNormArgs) {
    this.pipeline = rt.pipelines.get(shader, 'main', { WG: a.workgroupSize ?? reductionWorkgroup(rt, 128), W_F16: a.weightF16 });
    const params = rt.uniform(packParams([{ u32: a.rows }, { u32: a.dim }, { f32: a.eps }]), 'rmsnorm.params');
    this.bindGroup = rt.bindGroup(this.pipeline, [params, a.x, a.w, a.y], 'rmsnorm');
    this.workgroups = rt.grid(a.rows);
  }

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.workgroups[0], this.workgroups[1]);
  }
}
