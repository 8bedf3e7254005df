import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readF32, writeBuffer } from '../../src/gpu/buffers';
import { deviceBuffer } from '../../src/gpu/device-buffers';
import { BufferLedger } from '../../src/gpu/ledger';
import { testRuntime } from '../helpers/gpu';

/** The validation error (if any) of submitting a copy out of `buffer`. */
async function copyError(device: GPUDevice, buffer: GPUBuffer): Promise<GPUError | null> {
  const dst = createStorageBuffer(device, 16, 'copy.dst');
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, dst, 0, 16);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  dst.destroy();
  return error;
}

describe('buffer ledger', () => {
  it('frees what an op allocated, counts the peak, and leaves the device\'s shared buffers alive', async () => {
    const rt = await testRuntime();
    const ledger = new BufferLedger(rt.device);
    const [own, shared] = ledger.track(() => [
      createStorageBuffer(rt.device, 64, 'own'),
      deviceBuffer(rt.device, 'ledger test table', () => createStorageBuffer(rt.device, 16, 'shared')),
    ]);
    expect(ledger.peak).toBe(80);
    expect(deviceBuffer(rt.device, 'ledger test table', () => createStorageBuffer(rt.device, 16, 'again'))).toBe(shared);
    ledger.freeAll();
    expect(await copyError(rt.device, own!)).not.toBeNull();
    expect(await copyError(rt.device, shared!)).toBeNull();
    writeBuffer(rt.device, shared!, Float32Array.of(1, 2, 3, 4));
    expect(Array.from(await readF32(rt.device, shared!, 4))).toEqual([1, 2, 3, 4]);
  });
});
