/**
 * Reading small results back every step (a token id, top-k candidates) without a staging buffer,
 * a submit and a map per region: the copies are encoded into the caller's command buffer and one
 * persistent mappable buffer is mapped once per read. Per decode step this is the difference
 * between one round trip to the GPU and four.
 */
import { alignTo } from './buffers';

export interface ReadRegion {
  buffer: GPUBuffer;
  bytes: number;
  offset?: number;
}

export class Readback {
  private readonly staging: GPUBuffer;
  private readonly at: number[] = [];

  constructor(private readonly device: GPUDevice, private readonly regions: ReadRegion[], label: string) {
    let size = 0;
    for (const r of regions) {
      this.at.push(size);
      size += alignTo(r.bytes, 4);
    }
    this.staging = device.createBuffer({ label: `${label}.readback`, size: Math.max(size, 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Copies every region into the staging buffer (outside any pass, after the producing pass). */
  encode(encoder: GPUCommandEncoder): void {
    this.regions.forEach((r, i) => encoder.copyBufferToBuffer(r.buffer, r.offset ?? 0, this.staging, this.at[i]!, alignTo(r.bytes, 4)));
  }

  /** The regions' bytes, once the command buffer holding encode() has been submitted. */
  async read(): Promise<ArrayBuffer[]> {
    await this.staging.mapAsync(GPUMapMode.READ);
    const mapped = this.staging.getMappedRange();
    const out = this.regions.map((r, i) => mapped.slice(this.at[i]!, this.at[i]! + r.bytes));
    this.staging.unmap();
    return out;
  }

  /** encode() in a command buffer of its own, submitted, then read(). */
  async readNow(): Promise<ArrayBuffer[]> {
    const encoder = this.device.createCommandEncoder({ label: 'readback' });
    this.encode(encoder);
    this.device.queue.submit([encoder.finish()]);
    return this.read();
  }

  destroy(): void {
    this.staging.destroy();
  }
}
