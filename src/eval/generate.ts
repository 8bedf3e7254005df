/**
 * Batch-1 generation over a block plan: prefill the prompt, then one token per step from the
 * KV cache. Token selection runs on the GPU (argmax, or top-k candidates + a seeded draw on the
 * host) in the step's own pass, so each step is one submit and one map of 4 bytes (greedy) or at
 * most 64 candidates.
 */
import type { GpuTimer } from '../gpu/timer';
import { Argmax, MAX_TOP_K, NO_TOKEN, sampleFromCandidates, TopK, type SamplingOptions } from '../kernels/sampling';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { CancelledError } from '../prune/job';
import { mulberry32 } from '../util/random';

export interface GenerateOptions {
  plan: BlockPlan;
  maxNewTokens: number;
  /** temperature <= 0 is greedy; defaults follow the seed's demo (top-k 50, top-p 0.95, T = 1). */
  sampling?: SamplingOptions;
  seed?: number;
  /** Stop at one of these ids (ignored with forceLength). */
  eosIds?: number[];
  /** Generate exactly maxNewTokens, never stopping at EOS (speed measurement, as the seed does). */
  forceLength?: boolean;
  onToken?: (id: number, index: number) => void;
  signal?: AbortSignal;
  /** GPU time per step: interval 0 = the prompt, interval i = the step producing token i + 1. */
  timer?: GpuTimer;
}

export interface GenerateResult {
  ids: number[];
  /** Prompt tokens and the time from submitting the prompt to having the first new token. */
  promptTokens: number;
  prefillMs: number;
  /** Time for the remaining new tokens (each one step of the KV cache). */
  decodeMs: number;
  /** The part of decodeMs the host spent encoding and submitting the steps. */
  decodeHostMs: number;
  stoppedBy: 'eos' | 'length' | 'cancel';
}

export const SEED_SAMPLING: SamplingOptions = { temperature: 1, topK: 50, topP: 0.95 };

export async function generate(model: LlamaModel, prompt: number[], o: GenerateOptions): Promise<GenerateResult> {
  const rt = model.rt;
  const V = model.config.vocabSize;
  const maxLen = prompt.length + o.maxNewTokens;
  const state = model.decoder(maxLen);
  state.setPlan(o.plan);
  const sampling = o.sampling ?? SEED_SAMPLING;
  const greedy = !(sampling.temperature > 0);
  const random = mulberry32(o.seed ?? 0);
  const argmax = greedy ? new Argmax(rt, { rows: 1, V, logits: state.logits }) : undefined;
  const topK = greedy
    ? undefined
    : new TopK(rt, { rows: 1, V, k: Math.min(MAX_TOP_K, sampling.topK && sampling.topK > 0 ? sampling.topK : MAX_TOP_K), logits: state.logits, temperature: sampling.temperature });
  const selector = (argmax ?? topK)!;
  const steps = Math.min(o.maxNewTokens, o.timer?.capacity ?? 0);
  const extras = (step: number) => ({ select: selector, timestampWrites: step < steps ? o.timer!.writes(step) : undefined });
  const selected = async (): Promise<number> => {
    if (argmax) return (await argmax.readEncoded())[0]!;
    return sampleFromCandidates((await topK!.readEncoded())[0]!, sampling, random);
  };
  const eos = new Set(o.forceLength ? [] : (o.eosIds ?? model.config.eosTokenIds));
  const ids: number[] = [];
  let stoppedBy: GenerateResult['stoppedBy'] = 'length';
  try {
    const t0 = performance.now();
    state.prefill(prompt, extras(0));
    let next = await selected();
    const t1 = performance.now();
    const host1 = state.hostMs;
    while (true) {
      if (next === NO_TOKEN) throw new Error('sampling produced no candidate (logits not finite?)');
      ids.push(next);
      o.onToken?.(next, ids.length - 1);
      if (eos.has(next)) {
        stoppedBy = 'eos';
        break;
      }
      if (ids.length >= o.maxNewTokens) break;
      if (o.signal?.aborted) {
        stoppedBy = 'cancel';
        break;
      }
      state.append(next, extras(ids.length));
      next = await selected();
    }
    const t2 = performance.now();
    return { ids, promptTokens: prompt.length, prefillMs: t1 - t0, decodeMs: t2 - t1, decodeHostMs: state.hostMs - host1, stoppedBy };
  } finally {
    selector.destroy();
  }
}

export { CancelledError };
