/**
 * Buffers that belong to a device rather than to one op: tables and scratch every op of a kind
 * shares (the RoPE inv_freq tables, the unused matvec outputs, the split-K workspace). Each is
 * created on first use and lives as long as its device; a BufferLedger that saw one created while
 * tracking an op leaves it alone when it frees the op's buffers.
 */
const byDevice = new WeakMap<GPUDevice, Map<string, GPUBuffer>>();
const shared = new WeakSet<GPUBuffer>();

/** The device's buffer under `key`, created by `create` the first time. */
export function deviceBuffer(device: GPUDevice, key: string, create: () => GPUBuffer): GPUBuffer {
  let buffers = byDevice.get(device);
  if (!buffers) byDevice.set(device, (buffers = new Map()));
  let buffer = buffers.get(key);
  if (!buffer) {
    buffer = create();
    shared.add(buffer);
    buffers.set(key, buffer);
  }
  return buffer;
}

export function isDeviceBuffer(buffer: GPUBuffer): boolean {
  return shared.has(buffer);
}
