/**
 * Token selection that keeps the token on the GPU: each step's head pass ends with argmax (greedy)
 * or top-k + a seeded draw, which writes the token straight into the buffer the next step embeds
 * from. Steps can then be queued before the host has seen their input, and the host learns each
 * token through a ring of 4-byte mappable buffers, one per step in flight.
 */
import { Readback } from '../gpu/readback';
import type { GpuRuntime } from '../gpu/runtime';
import { Argmax, Draw, MAX_TOP_K, TopK, type SamplingOptions } from '../kernels/sampling';
import { mulberry32 } from '../util/random';

export class TokenSelector {
  private readonly argmax?: Argmax;
  private readonly topK?: TopK;
  private readonly draw?: Draw;
  private readonly random: () => number;
  private readonly ring: Readback[];
  private encoded = 0;
  private delivered = 0;

  /** `out`: u32 [1] receiving the token; `depth`: the most steps whose token is not yet read. */
  constructor(rt: GpuRuntime, o: { V: number; logits: GPUBuffer; out: GPUBuffer; sampling: SamplingOptions; seed: number; depth: number }) {
    const s = o.sampling;
    if (s.temperature > 0) {
      const k = Math.min(MAX_TOP_K, s.topK && s.topK > 0 ? s.topK : MAX_TOP_K);
      this.topK = new TopK(rt, { rows: 1, V: o.V, k, logits: o.logits, temperature: s.temperature });
      this.draw = new Draw(rt, this.topK, s, o.out);
    } else {
      this.argmax = new Argmax(rt, { rows: 1, V: o.V, logits: o.logits, ids: o.out });
    }
    this.random = mulberry32(o.seed);
    this.ring = Array.from({ length: o.depth }, () => new Readback(rt.device, [{ buffer: o.out, bytes: 4 }], 'token'));
  }

  /** Selection at the end of a step's pass; queues the step's uniform first (one per sampled step). */
  encode(pass: GPUComputePassEncoder): void {
    if (this.argmax) return this.argmax.encode(pass);
    this.draw!.setUniform(this.random());
    this.topK!.encode(pass);
    this.draw!.encode(pass);
  }

  /** Copies the step's token into the next ring slot (after its pass, in the same command buffer). */
  encodeReadback(encoder: GPUCommandEncoder): void {
    if (this.encoded - this.delivered >= this.ring.length) throw new Error(`more than ${this.ring.length} steps in flight`);
    this.ring[this.encoded++ % this.ring.length]!.encode(encoder);
  }

  /** The token of the oldest step not yet read (once its command buffer is submitted). */
  async next(): Promise<number> {
    const [bytes] = await this.ring[this.delivered % this.ring.length]!.read();
    this.delivered++;
    return new Uint32Array(bytes!)[0]!;
  }

  /** Reads the tokens still in flight, so no buffer is destroyed while mapping. */
  async drain(): Promise<void> {
    while (this.delivered < this.encoded) await this.next();
  }

  destroy(): void {
    this.argmax?.destroy();
    this.topK?.destroy();
    this.ring.forEach((r) => r.destroy());
  }
}
