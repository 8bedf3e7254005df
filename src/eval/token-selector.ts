/**
 * Token selection that keeps the token on the GPU: each step's head pass ends with argmax (greedy)
 * or top-k + a seeded draw, which writes the token straight into the buffer the next step embeds
 * from. Steps can then be queued before the host has seen their input, and the host learns each
 * token through a ring of 4-byte mappable buffers, one per step in flight.
 */
import { BufferLedger } from '../gpu/ledger';
import { Readback } from '../gpu/readback';
import type { GpuRuntime } from '../gpu/runtime';
import { RepetitionPenalty } from '../kernels/repetition-penalty';
import { Argmax, Draw, MAX_TOP_K, TopK, type SamplingOptions } from '../kernels/sampling';
import { mulberry32 } from '../util/random';

export class TokenSelector {
  private readonly ledger: BufferLedger;
  private readonly penalty?: RepetitionPenalty;
  private readonly argmax?: Argmax;
  private readonly topK?: TopK;
  private readonly draw?: Draw;
  private readonly random: () => number;
  private readonly ring: Readback[];
  private encoded = 0;
  private delivered = 0;

  /**
   * `out`: u32 [1] receiving the token, which the next step embeds; `prompt`: the tokens already in
   * the sequence (the repetition penalty's starting set); `depth`: the most steps whose token is
   * not yet read. Every buffer allocated here is freed by destroy().
   */
  constructor(rt: GpuRuntime, o: { V: number; logits: GPUBuffer; out: GPUBuffer; prompt: ArrayLike<number>; sampling: SamplingOptions; seed: number; depth: number }) {
    const s = o.sampling;
    this.ledger = new BufferLedger(rt.device);
    const built = this.ledger.track(() => {
      const factor = s.repetitionPenalty ?? 1;
      const penalty = factor !== 1 ? new RepetitionPenalty(rt, { V: o.V, penalty: factor, logits: o.logits, token: o.out }) : undefined;
      penalty?.reset(o.prompt);
      const logits = penalty?.out ?? o.logits;
      const ring = Array.from({ length: o.depth }, () => new Readback(rt.device, [{ buffer: o.out, bytes: 4 }], 'token'));
      if (!(s.temperature > 0)) return { penalty, ring, argmax: new Argmax(rt, { rows: 1, V: o.V, logits, ids: o.out }) };
      const k = Math.min(MAX_TOP_K, s.topK && s.topK > 0 ? s.topK : MAX_TOP_K);
      const topK = new TopK(rt, { rows: 1, V: o.V, k, logits, temperature: s.temperature });
      return { penalty, ring, topK, draw: new Draw(rt, topK, s, o.out) };
    });
    ({ penalty: this.penalty, ring: this.ring, argmax: this.argmax, topK: this.topK, draw: this.draw } = built);
    this.random = mulberry32(o.seed);
  }

  /** Selection at the end of a step's pass; queues the step's uniform first (one per sampled step). */
  encode(pass: GPUComputePassEncoder): void {
    this.penalty?.encode(pass);
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
    this.ledger.freeAll();
  }
}
