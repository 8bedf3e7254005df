/**
 * Batch-1 generation over a block plan: prefill the prompt, then one token per step from the
 * KV cache. The token is selected on the GPU in the step's own pass and written where the next
 * step reads it, so up to IN_FLIGHT steps are queued ahead of the host: the GPU does not wait for
 * a round trip per token, and the host reads each token back (4 bytes) while later steps run.
 * Stopping at EOS or on cancel discards the steps already queued.
 */
import type { GpuTimer } from '../gpu/timer';
import { recordDispatches } from '../kernels/common';
import { NO_TOKEN, type SamplingOptions } from '../kernels/sampling';
import type { LlamaModel } from '../model/model';
import type { DecodeAdapters, DecodeState } from '../model/decode';
import type { BlockPlan } from '../model/plan';
import { CancelledError } from '../util/job';
import { TokenSelector } from './token-selector';

/** Steps submitted but not yet read back: enough to cover host encoding plus one map round trip. */
const IN_FLIGHT = 3;

export interface GenerateOptions {
  plan: BlockPlan;
  /** A decode state of its own (e.g. over merged weights) instead of the model's; room for prompt + new tokens. */
  state?: DecodeState;
  /** LoRA adapters run unmerged beside the plan's blocks (src/model/decode.ts). */
  adapters?: DecodeAdapters;
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
  /** Dispatches one decode step records: the plan's ops and the token selection. */
  dispatchesPerDecodeStep: number;
  stoppedBy: 'eos' | 'length' | 'cancel';
}

export const SEED_SAMPLING: SamplingOptions = { temperature: 1, topK: 50, topP: 0.95 };

export async function generate(model: LlamaModel, prompt: number[], o: GenerateOptions): Promise<GenerateResult> {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new RangeError(`maxNewTokens must be a whole number >= 1 (got ${o.maxNewTokens})`);
  const maxLen = prompt.length + o.maxNewTokens;
  if (o.state && o.state.maxLen < maxLen) throw new RangeError(`the decode state holds ${o.state.maxLen} tokens, not ${maxLen}`);
  const state = o.state ?? model.decoder(maxLen);
  state.setPlan(o.plan, o.adapters);
  const selector = new TokenSelector(model.rt, {
    V: model.config.vocabSize, logits: state.logits, out: state.nextToken, prompt, sampling: o.sampling ?? SEED_SAMPLING, seed: o.seed ?? 0, depth: IN_FLIGHT,
  });
  const timed = Math.min(o.maxNewTokens, o.timer?.capacity ?? 0);
  const extras = (step: number) => ({ select: selector, timestampWrites: step < timed ? o.timer!.writes(step) : undefined });
  const eos = new Set(o.forceLength ? [] : (o.eosIds ?? model.config.eosTokenIds));
  const ids: number[] = [];
  let stoppedBy: GenerateResult['stoppedBy'] = 'length';
  try {
    const t0 = performance.now();
    state.prefill(prompt, extras(0));
    let next = await selector.next();
    const t1 = performance.now();
    const host1 = state.hostMs;
    let queued = 1; // tokens whose step has been submitted
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
      for (; queued < o.maxNewTokens && queued - ids.length < IN_FLIGHT; queued++) state.appendSelected(extras(queued));
      next = await selector.next();
    }
    const t2 = performance.now();
    return { ids, promptTokens: prompt.length, prefillMs: t1 - t0, decodeMs: t2 - t1, decodeHostMs: state.hostMs - host1, dispatchesPerDecodeStep: state.dispatchesPerStep + recordDispatches([selector]).length, stoppedBy };
  } finally {
    // Steps queued past EOS or a cancel still run; their readbacks must finish before the buffers go.
    // A failure here (device lost) would only repeat the error being reported, or hide the result.
    await selector.drain().catch(() => undefined);
    selector.destroy();
  }
}

export { CancelledError };
