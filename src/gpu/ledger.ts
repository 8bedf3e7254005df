import { isDeviceBuffer } from './device-buffers';

/**
 * Every GPU buffer created on the device while `track` runs (synchronously) is recorded, so the
 * buffers that kernel wrappers allocate internally (uniforms, score partials, rinv, delta) are
 * counted in the peak and freed with ours. Scopes free a subset early (one block's ops). Buffers of
 * the device (deviceBuffer) created meanwhile are counted but never destroyed: other ops share them.
 */
export class BufferLedger {
  private readonly live = new Map<GPUBuffer, number>();
  private current = 0;
  peak = 0;

  constructor(private readonly device: GPUDevice) {}

  track<T>(fn: () => T, into?: GPUBuffer[]): T {
    const dev = this.device;
    const own = Object.prototype.hasOwnProperty.call(dev, 'createBuffer');
    const previous = dev.createBuffer;
    dev.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
      const buffer = previous.call(dev, descriptor);
      this.live.set(buffer, buffer.size);
      this.current += buffer.size;
      this.peak = Math.max(this.peak, this.current);
      into?.push(buffer);
      return buffer;
    };
    try {
      return fn();
    } finally {
      if (own) dev.createBuffer = previous;
      else delete (dev as { createBuffer?: unknown }).createBuffer;
    }
  }

  free(buffers: Iterable<GPUBuffer>): void {
    for (const b of buffers) {
      const size = this.live.get(b);
      if (size === undefined) continue;
      this.live.delete(b);
      this.current -= size;
      if (!isDeviceBuffer(b)) b.destroy();
    }
  }

  freeAll(): void {
    this.free([...this.live.keys()]);
  }
}
