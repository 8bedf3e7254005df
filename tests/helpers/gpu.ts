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

/** The buffers `fn` creates on the device, and which of them have been destroyed since. */
export function recordBuffers(device: GPUDevice, fn: () => void): { created: GPUBuffer[]; destroyed: Set<GPUBuffer> } {
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
  try {
    fn();
  } finally {
    device.createBuffer = previous;
  }
  return { created, destroyed };
}
