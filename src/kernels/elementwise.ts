import code from '../../shaders/elementwise.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';

const shader = { name: 'elementwise', code };
const WG = 256;

/** A prepared one-pipeline, one-bind-group dispatch over n elements. */
class FlatOp {
  private readonly pipeline: GPUComputePipeline;
  private readonly bindGroup: GPUBindGroup;
  private readonly workgroups: [number, number];

  constructor(rt: GpuRuntime, entry: string, n: number, buffers: GPUBuffer[]) {
    this.pipeline = rt.pipelines.get(shader, entry, { WG });
    const params = rt.uniform(packParams([{ u32: n }]), `${entry}.params`);
    this.bindGroup = rt.bindGroup(this.pipeline, [params, ...buffers], entry);
    this.workgroups = rt.grid(Math.ceil(n / WG));
  }

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.workgroups[0], this.workgroups[1]);
  }
}

/** Residual add in place: y += x over n f32 elements. */
export class ResidualAdd extends FlatOp {
  constructor(rt: GpuRuntime, a: { n: number; x: GPUBuffer; y: GPUBuffer }) {
    super(rt, 'add', a.n, [a.x, a.y]);
  }
}

/** Standalone SwiGLU: h = silu(g) * u over n f32 elements (h must not alias g or u). */
export class SwiGlu extends FlatOp {
  constructor(rt: GpuRuntime, a: { n: number; g: GPUBuffer; u: GPUBuffer; h: GPUBuffer }) {
    super(rt, 'swiglu', a.n, [a.g, a.u, a.h]);
  }
}
