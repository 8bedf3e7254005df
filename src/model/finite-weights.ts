/**
 * Which loaded weight tensors hold NaN or Inf. Each tensor's sum |W| is taken on the GPU (the
 * magnitude criterion's kernel) and only one f32 per tensor is read back: a NaN or Inf anywhere
 * makes its sum non-finite. On a GPU this reads the weights at memory bandwidth (well under a
 * millisecond per GB), so the host never makes a second pass over a multi-GB checkpoint's bytes.
 */
import { createStorageBuffer, readF32 } from '../gpu/buffers';
import type { GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { AbsSum } from '../kernels/statistics';

export async function nonFiniteTensors(rt: GpuRuntime, tensors: ReadonlyMap<string, GpuTensor>): Promise<string[]> {
  const list = [...tensors.values()];
  if (list.length === 0) return [];
  const sums = createStorageBuffer(rt.device, list.length * 4, 'finite-check.sums');
  const ops = list.map((t, i) => new AbsSum(rt, t, sums, i));
  try {
    const encoder = rt.device.createCommandEncoder({ label: 'finite-check' });
    const pass = encoder.beginComputePass();
    ops.forEach((op) => op.encode(pass));
    pass.end();
    rt.device.queue.submit([encoder.finish()]);
    const values = await readF32(rt.device, sums, list.length);
    return list.filter((_, i) => !Number.isFinite(values[i]!)).map((t) => t.name);
  } finally {
    ops.forEach((op) => op.destroy());
    sums.destroy();
  }
}
