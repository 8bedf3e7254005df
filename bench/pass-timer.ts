/**
 * Timing for the benchmark scripts: passes timed by GPU timestamps where the adapter has them
 * (src/gpu/timer.ts), else by queue-synchronised wall clock, and constant-filled input buffers.
 */
import { createStorageBuffer } from '../src/gpu/buffers';
import type { GpuRuntime } from '../src/gpu/runtime';
import { GpuTimer } from '../src/gpu/timer';

/** Fills a buffer with a constant word on the GPU side (values do not matter for timing). */
export function filledBuffer(rt: GpuRuntime, bytes: number, label: string, word = 0x3c003c00): GPUBuffer {
  const buffer = createStorageBuffer(rt.device, bytes, label);
  const chunk = new Uint32Array(Math.min(bytes, 1 << 24) / 4).fill(word);
  for (let off = 0; off < bytes; off += chunk.byteLength) {
    const n = Math.min(chunk.byteLength, bytes - off);
    rt.device.queue.writeBuffer(buffer, off, chunk, 0, n / 4);
  }
  return buffer;
}

/** Median time of one pass, by GPU timestamps where available (src/gpu/timer.ts), else wall clock. */
export class Timer {
  private readonly gpu?: GpuTimer;
  readonly method: string;

  constructor(private readonly rt: GpuRuntime, private readonly maxReps = 32) {
    this.gpu = GpuTimer.available(rt) ? new GpuTimer(rt, maxReps) : undefined;
    this.method = this.gpu ? 'timestamp-query' : 'wall clock (queue-synchronized)';
  }

  /** Median milliseconds of one `encode`, from passes that run it `inner` times back to back (as a
   * decode step runs its kernels: launch and barrier costs included, pass overhead amortised),
   * after one warm-up pass. */
  async time(encode: (pass: GPUComputePassEncoder) => void, reps: number, inner = 1): Promise<number> {
    reps = Math.min(reps, this.maxReps);
    const device = this.rt.device;
    const run = (i: number | undefined) => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass(i !== undefined && this.gpu ? { timestampWrites: this.gpu.writes(i) } : undefined);
      for (let j = 0; j < inner; j++) encode(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
    };
    run(undefined);
    await device.queue.onSubmittedWorkDone();
    const wall: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      run(i);
      await device.queue.onSubmittedWorkDone();
      wall.push(performance.now() - t0);
    }
    const gpu = await this.gpu?.readMs(reps);
    return median(gpu ?? wall) / inner;
  }
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

