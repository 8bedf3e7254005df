import type { GpuContext } from './device';
import { PipelineCache } from './pipelines';

/**
 * The device plus what every kernel wrapper needs: the pipeline cache, uniform creation,
 * bind groups and dispatch-grid math that respects maxComputeWorkgroupsPerDimension.
 */
export class GpuRuntime {
  readonly pipelines: PipelineCache;
  readonly device: GPUDevice;
  readonly maxWorkgroupsPerDim: number;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.pipelines = new PipelineCache(ctx.device);
    this.maxWorkgroupsPerDim = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  }

  /** A uniform buffer holding `data` (padded to 16 bytes). Create once per op instance, not per dispatch. */
  uniform(data: ArrayBuffer, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  /** Bind group 0 with `resources` at bindings 0, 1, 2, ... in order. */
  bindGroup(pipeline: GPUComputePipeline, resources: (GPUBuffer | GPUBufferBinding)[], label?: string): GPUBindGroup {
    return this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: resources.map((r, binding) => ({ binding, resource: r instanceof GPUBuffer ? { buffer: r } : r })),
    });
  }

  /**
   * Spreads `count` workgroups over x and y so neither exceeds the device limit; kernels
   * recover the linear index as wid.y * num_workgroups.x + wid.x and bound-check it.
   */
  grid(count: number): [number, number] {
    if (count <= this.maxWorkgroupsPerDim) return [Math.max(1, count), 1];
    const y = Math.ceil(count / this.maxWorkgroupsPerDim);
    return [Math.ceil(count / y), y];
  }
}

/** Little helper to fill a uniform struct of u32/f32 fields in declaration order. */
export function packParams(fields: ({ u32: number } | { f32: number } | { i32: number })[]): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(buffer);
  fields.forEach((f, i) => {
    if ('u32' in f) view.setUint32(i * 4, f.u32, true);
    else if ('i32' in f) view.setInt32(i * 4, f.i32, true);
    else view.setFloat32(i * 4, f.f32, true);
  });
  return buffer;
}
