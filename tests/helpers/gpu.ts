import { acquireNodeDevice } from '../../src/node/dawn';
import { GpuRuntime } from '../../src/gpu/runtime';
import { createStorageBuffer, writeBuffer } from '../../src/gpu/buffers';

let runtime: Promise<GpuRuntime> | undefined;

/** One device per test file (vitest isolates files in their own workers). */
export function testRuntime(): Promise<GpuRuntime> {
  runtime ??= acquireNodeDevice('tests').then((ctx) => new GpuRuntime(ctx));
  return runtime;
}

/** An output buffer filled with NaN, so a test can prove every element was written. */
export function poisonedF32(rt: GpuRuntime, count: number, label = 'poisoned'): GPUBuffer {
  const buffer = createStorageBuffer(rt.device, count * 4, label);
  writeBuffer(rt.device, buffer, new Float32Array(count).fill(NaN));
  return buffer;
}

/** Encodes `encode` in one compute pass and submits it. */
export function runPass(rt: GpuRuntime, encode: (pass: GPUComputePassEncoder) => void): void {
  const encoder = rt.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encode(pass);
  pass.end();
  rt.device.queue.submit([encoder.finish()]);
}

/** Records the buffers created on the device from now until stop(), and which of them get destroyed. */
function startRecording(device: GPUDevice) {
  const created: GPUBuffer[] = [];
  const destroyed = new Set<GPUBuffer>();
  const previous = device.createBuffer;
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = previous.call(device, descriptor);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      destroyed.add(buffer);
      destroy();
    };
    created.push(buffer);
    return buffer;
  };
  return { created, destroyed, stop: () => void (device.createBuffer = previous) };
}

/** The buffers `fn` creates on the device, and which of them have been destroyed since. */
export function recordBuffers(device: GPUDevice, fn: () => void): { created: GPUBuffer[]; destroyed: Set<GPUBuffer> } {
  const r = startRecording(device);
  try {
    fn();
  } finally {
    r.stop();
  }
  return { created: r.created, destroyed: r.destroyed };
}

/** recordBuffers for an async `fn` (nothing else may create buffers on the device while it runs). */
export async function recordBuffersAsync(device: GPUDevice, fn: () => Promise<void>): Promise<{ created: GPUBuffer[]; destroyed: Set<GPUBuffer> }> {
  const r = startRecording(device);
  try {
    await fn();
  } finally {
    r.stop();
  }
  return { created: r.created, destroyed: r.destroyed };
}
