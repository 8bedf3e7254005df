/** Buffer helpers: creation with labels, uploads and read-backs through staging buffers. */

/** Usage of every engine buffer: bound as storage, copied in and out. A function: GPUBufferUsage is a
 * global that Node only has once the webgpu package is loaded. */
export function storageUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** Storage buffers are rounded up to 16 bytes so vec4 loads and copies stay in bounds. */
export function alignTo(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function createStorageBuffer(device: GPUDevice, byteLength: number, label: string, usage = storageUsage()): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(16, alignTo(byteLength, 16)), usage });
}

export function uploadBuffer(device: GPUDevice, data: ArrayBufferView, label: string, usage = storageUsage()): GPUBuffer {
  const buffer = createStorageBuffer(device, data.byteLength, label, usage);
  writeBuffer(device, buffer, data);
  return buffer;
}

/** queue.writeBuffer needs a multiple of 4 bytes; pad the tail of odd-length data. */
export function writeBuffer(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const whole = bytes.byteLength & ~3;
  if (whole > 0) device.queue.writeBuffer(buffer, offset, bytes, 0, whole);
  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    device.queue.writeBuffer(buffer, offset + whole, tail);
  }
}

/** Copies `byteLength` bytes from `buffer` into a fresh ArrayBuffer (waits for the queue). */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength = buffer.size, offset = 0): Promise<ArrayBuffer> {
  const size = alignTo(byteLength, 4);
  const staging = device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder({ label: 'readback' });
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  return copy;
}

export async function readF32(device: GPUDevice, buffer: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buffer, count * 4, offset));
}

export async function readU32(device: GPUDevice, buffer: GPUBuffer, count: number, offset = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, buffer, count * 4, offset));
}
