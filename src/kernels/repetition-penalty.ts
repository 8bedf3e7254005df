import code from '../../shaders/repetition_penalty.wgsl?raw';
import { createStorageBuffer, writeBuffer } from '../gpu/buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { bindAt, encodeAll, type Dispatch } from './common';

const shader = { name: 'repetition_penalty', code };
const WG = 256;

/**
 * Hugging Face's repetition penalty on one row of logits [V]: every token of the prompt or the
 * output so far has its logit divided by `penalty` (multiplied when negative). The set of seen
 * tokens lives on the GPU and each step adds the token it embeds, so sampled tokens can stay there.
 */
export class RepetitionPenalty {
  /** f32 [V]: the penalised logits, what token selection reads. */
  readonly out: GPUBuffer;
  private readonly seen: GPUBuffer;
  private readonly dispatch: Dispatch;

  /** `token`: u32 [1], the token each step embeds (the previous step's selection). */
  constructor(private readonly rt: GpuRuntime, private readonly a: { V: number; penalty: number; logits: GPUBuffer; token: GPUBuffer }) {
    if (!(a.penalty > 0) || !Number.isFinite(a.penalty)) throw new RangeError(`repetition penalty must be a positive number (got ${a.penalty})`);
    const pipeline = rt.pipelines.get(shader, 'penalize', { WG });
    this.out = createStorageBuffer(rt.device, a.V * 4, 'penalty.out');
    this.seen = createStorageBuffer(rt.device, a.V * 4, 'penalty.seen');
    const params = rt.uniform(packParams([{ u32: a.V }, { f32: a.penalty }]), 'penalty.params');
    const bindGroup = bindAt(rt, pipeline, { 0: params, 1: a.logits, 2: a.token, 3: this.seen, 4: this.out }, 'penalty');
    this.dispatch = { pipeline, bindGroup, grid: rt.grid(Math.ceil(a.V / WG)) };
  }

  /**
   * Starts a sequence: the prompt's tokens are the seen set, and the token buffer holds the prompt's
   * last token (seen already) for the prompt's own step, whose input is not that buffer.
   */
  reset(prompt: ArrayLike<number>): void {
    const flags = new Uint32Array(this.a.V);
    for (let i = 0; i < prompt.length; i++) {
      const id = prompt[i]!;
      if (!(id >= 0 && id < this.a.V)) throw new RangeError(`token ${id} outside the vocabulary of ${this.a.V}`);
      flags[id] = 1;
    }
    writeBuffer(this.rt.device, this.seen, flags);
    if (prompt.length > 0) writeBuffer(this.rt.device, this.a.token, Uint32Array.of(prompt[prompt.length - 1]!));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
