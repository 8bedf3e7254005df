/**
 * The roofline probes (shaders/bench.wgsl): streaming-read bandwidth and FMA throughput on the
 * current adapter. Benchmarks divide their figures by probes measured in the same run.
 */
import benchCode from '../shaders/bench.wgsl?raw';
import { createStorageBuffer } from '../src/gpu/buffers';
import { packParams, type GpuRuntime } from '../src/gpu/runtime';
import { filledBuffer, type Timer } from './pass-timer';

const bench = { name: 'bench', code: benchCode };

export interface Probe {
  shape: string;
  ms: number;
  /** GB/s for the read probe, GFLOP/s for the FMA probe. */
  rate: number;
}

function timeDispatch(timer: Timer, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, groups: number, reps: number): Promise<number> {
  return timer.time((pass) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups);
  }, reps);
}

/** Sums a 512 MiB buffer (128 MiB in quick mode, less where the adapter's limits say so). */
export async function readProbe(rt: GpuRuntime, timer: Timer, quick: boolean, reps: number): Promise<Probe> {
  const limits = rt.device.limits;
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const bytes = Math.min((quick ? 128 : 512) << 20, Math.floor(maxBytes / 16) * 16);
  const src = filledBuffer(rt, bytes, 'probe.src', 0x3f800000);
  const groups = 2048;
  const dst = createStorageBuffer(rt.device, groups * 256 * 4, 'probe.dst');
  const pipeline = rt.pipelines.get(bench, 'read_probe');
  const bindGroup = rt.bindGroup(pipeline, [rt.uniform(packParams([{ u32: bytes / 16 }, { u32: 0 }]), 'probe'), src, dst]);
  try {
    const ms = await timeDispatch(timer, pipeline, bindGroup, groups, reps);
    return { shape: `${bytes >> 20} MiB f32`, ms, rate: bytes / 1e6 / ms };
  } finally {
    src.destroy();
    dst.destroy();
  }
}

/** 8 independent vec4 FMA chains per thread (4096 x 256 threads x 2048 iterations; 256 x 512 in quick mode). */
export async function fmaProbe(rt: GpuRuntime, timer: Timer, quick: boolean, reps: number): Promise<Probe> {
  const groups = quick ? 256 : 4096;
  const iters = quick ? 512 : 2048;
  const pipeline = rt.pipelines.get(bench, 'fma_probe');
  const dst = createStorageBuffer(rt.device, groups * 256 * 4, 'fma.dst');
  const bindGroup = rt.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: rt.uniform(packParams([{ u32: 0 }, { u32: iters }]), 'fma') } },
      { binding: 2, resource: { buffer: dst } },
    ],
  });
  try {
    const ms = await timeDispatch(timer, pipeline, bindGroup, groups, reps);
    return { shape: `${groups}x256 threads x ${iters} it`, ms, rate: (groups * 256 * iters * 8 * 4 * 2) / 1e6 / ms };
  } finally {
    dst.destroy();
  }
}
