import code from '../../shaders/rmsnorm.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { encodeAll, prepare, reductionWorkgroup, type Dispatch } from './common';

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
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: RmsNormArgs) {
    const params = rt.uniform(packParams([{ u32: a.rows }, { u32: a.dim }, { f32: a.eps }]), 'rmsnorm.params');
    this.dispatch = prepare(rt, shader, 'main', { WG: a.workgroupSize ?? reductionWorkgroup(rt, 128), W_F16: a.weightF16 },
      { 0: params, 1: a.x, 2: a.w, 3: a.y }, rt.grid(a.rows));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
