/**
 * GPU-side interval timing with timestamp queries: interval i is the time from the start of the
 * pass given writes(i, 'begin') to the end of the pass given writes(i, 'end') (the same pass or a
 * later one in the same submission order). Only on adapters with `timestamp-query`; callers fall
 * back to queue-synchronised wall clock otherwise, or when an implementation returns zeros
 * (timestamps disabled or quantised away).
 */
import { readBuffer } from './buffers';
import type { GpuRuntime } from './runtime';

export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;

  static available(rt: GpuRuntime): boolean {
    return rt.ctx.adapter.hasTimestamps;
  }

  constructor(private readonly rt: GpuRuntime, readonly capacity: number) {
    this.querySet = rt.device.createQuerySet({ label: 'timer', type: 'timestamp', count: 2 * capacity });
    this.resolve = rt.device.createBuffer({ label: 'timer.resolve', size: 16 * capacity, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** timestampWrites for a pass that begins and/or ends interval i. */
  writes(i: number, at: { begin?: boolean; end?: boolean } = { begin: true, end: true }): GPUComputePassTimestampWrites {
    if (i >= this.capacity) throw new RangeError(`timer interval ${i} beyond its capacity ${this.capacity}`);
    return {
      querySet: this.querySet,
      ...(at.begin ? { beginningOfPassWriteIndex: 2 * i } : {}),
      ...(at.end ? { endOfPassWriteIndex: 2 * i + 1 } : {}),
    };
  }

  /** Milliseconds of intervals 0..count-1 (after their passes were submitted); undefined if any reads as zero. */
  async readMs(count: number): Promise<number[] | undefined> {
    const encoder = this.rt.device.createCommandEncoder({ label: 'timer.resolve' });
    encoder.resolveQuerySet(this.querySet, 0, 2 * count, this.resolve, 0);
    this.rt.device.queue.submit([encoder.finish()]);
    const stamps = new BigUint64Array(await readBuffer(this.rt.device, this.resolve, 16 * count));
    const ms: number[] = [];
    for (let i = 0; i < count; i++) ms.push(Number(stamps[2 * i + 1]! - stamps[2 * i]!) / 1e6);
    return ms.every((t) => t > 0) ? ms : undefined;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
  }
}
