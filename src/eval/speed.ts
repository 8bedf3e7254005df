/**
 * Generation speed as the seed measures it: forced-length generation, warm-up runs excluded,
 * the mean over timed runs; prefill and decode tokens/s reported apart. Every figure carries the
 * adapter it was measured on. Times are queue-synchronised wall clock: each step ends when its
 * token id is read back, which is what a user waits for.
 *
 * The memory-bound ideal: at batch 1 a decode step reads every weight of the plan once, so the
 * ideal speedup of a pruned plan is (bytes per token, full) / (bytes per token, pruned).
 */
import { describeAdapter } from '../gpu/device';
import { bytesPerElement, elementCount, type GpuTensor } from '../gpu/tensor';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { blockTensors } from '../model/weights';
import { checkCancelled, type JobOptions } from '../prune/job';
import { generate } from './generate';

export interface SpeedOptions {
  promptTokens: number;
  newTokens: number;
  warmup: number;
  runs: number;
}

export const DEFAULT_SPEED: SpeedOptions = { promptTokens: 32, newTokens: 128, warmup: 2, runs: 5 };

export interface SpeedResult {
  plan: number[];
  blocks: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
  /** Whole generate call: new tokens / (prefill + decode), as the seed reports throughput. */
  tokensPerS: number;
  msPerDecodeToken: number;
  weightBytesPerToken: number;
  adapter: string;
  options: SpeedOptions;
}

const tensorBytes = (t: GpuTensor) => elementCount(t.shape) * bytesPerElement(t.dtype);

/** Weight bytes a decode step reads under a plan: the plan's blocks, the final norm, the head and one embedding row. */
export function weightBytesPerToken(model: LlamaModel, plan: BlockPlan): number {
  const w = model.weights;
  let bytes = tensorBytes(w.finalNorm) + tensorBytes(w.head) + model.config.hiddenSize * bytesPerElement(w.embed.dtype);
  for (const b of plan) bytes += blockTensors(w.blocks[b]!).reduce((s, t) => s + tensorBytes(t), 0);
  return bytes;
}

/** A deterministic prompt of n ordinary tokens (speed does not depend on the text). */
function benchPrompt(model: LlamaModel, n: number): number[] {
  const bos = model.config.bosTokenId ?? 1;
  return [bos, ...Array.from({ length: n - 1 }, (_, i) => 3 + ((i * 7919) % (model.config.vocabSize - 3)))];
}

export async function measureSpeed(model: LlamaModel, plan: BlockPlan, s: SpeedOptions = DEFAULT_SPEED, o: JobOptions = {}): Promise<SpeedResult> {
  const prompt = benchPrompt(model, s.promptTokens);
  let prefillMs = 0;
  let decodeMs = 0;
  const total = s.warmup + s.runs;
  for (let run = 0; run < total; run++) {
    checkCancelled(o.signal);
    const r = await generate(model, prompt, {
      plan, maxNewTokens: s.newTokens, forceLength: true, seed: run, sampling: { temperature: 1, topK: 50, topP: 0.95 },
    });
    if (run >= s.warmup) {
      prefillMs += r.prefillMs;
      decodeMs += r.decodeMs;
    }
    o.onProgress?.(run + 1, total, run < s.warmup ? 'warm-up' : 'timed run');
  }
  prefillMs /= s.runs;
  decodeMs /= s.runs;
  const decodeSteps = s.newTokens - 1;
  return {
    plan: [...plan],
    blocks: plan.length,
    prefillTokensPerS: (s.promptTokens / prefillMs) * 1000,
    decodeTokensPerS: decodeSteps > 0 ? (decodeSteps / decodeMs) * 1000 : NaN,
    tokensPerS: (s.newTokens / (prefillMs + decodeMs)) * 1000,
    msPerDecodeToken: decodeSteps > 0 ? decodeMs / decodeSteps : NaN,
    weightBytesPerToken: weightBytesPerToken(model, plan),
    adapter: describeAdapter(model.rt.ctx.adapter),
    options: s,
  };
}

/** Measured decode speedup of `pruned` over `full`, and the memory-bound ideal for comparison. */
export function speedup(full: SpeedResult, pruned: SpeedResult): { measured: number; ideal: number; ofIdeal: number } {
  const measured = pruned.decodeTokensPerS / full.decodeTokensPerS;
  const ideal = full.weightBytesPerToken / pruned.weightBytesPerToken;
  return { measured, ideal, ofIdeal: measured / ideal };
}
