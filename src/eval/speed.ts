/**
 * Generation speed as the seed measures it: forced-length generation, warm-up runs excluded,
 * the mean over timed runs; prefill and decode tokens/s reported apart. Every figure carries the
 * adapter it was measured on. With `timestamp-query` the headline figures are GPU time (the
 * passes of each step, from timestamps), which is what pruning changes; queue-synchronised wall
 * clock (each step ends when its token is read back: what a user waits for) is always reported
 * too, and is the headline on adapters without timestamps.
 *
 * The memory-bound ideal: at batch 1 a decode step reads every weight of the plan once, so the
 * ideal speedup of a pruned plan is (bytes per token, full) / (bytes per token, pruned).
 */
import { describeAdapter } from '../gpu/device';
import { GpuTimer } from '../gpu/timer';
import type { GpuTensor } from '../gpu/tensor';
import { weightBytes, weightRowBytes } from '../quant/formats';
import type { LlamaModel } from '../model/model';
import type { DecodeAdapters, DecodeState } from '../model/decode';
import type { BlockPlan } from '../model/plan';
import { blockTensors } from '../model/weights';
import { checkCancelled, type JobOptions } from '../util/job';
import { generate } from './generate';

export interface SpeedOptions {
  promptTokens: number;
  newTokens: number;
  warmup: number;
  runs: number;
}

export const DEFAULT_SPEED: SpeedOptions = { promptTokens: 32, newTokens: 128, warmup: 2, runs: 5 };

export interface Throughput {
  prefillTokensPerS: number;
  decodeTokensPerS: number;
}

/** A decode set-up timed beside plain plans: the plan with LoRA adapters unmerged, or over merged weights. */
export interface SpeedVariant {
  plan: BlockPlan;
  label: string;
  adapters?: DecodeAdapters;
  state?: DecodeState;
}

export interface SpeedResult extends Throughput {
  plan: number[];
  /** The variant's label (absent for a plain plan). */
  variant?: string;
  blocks: number;
  /** What the headline figures are: GPU timestamps of the step passes, or wall clock. */
  timing: 'timestamp-query' | 'wall clock';
  /** Queue-synchronised wall clock, always measured. */
  wall: Throughput;
  /** Whole generate call: new tokens / (prefill + decode), as the seed reports throughput. */
  tokensPerS: number;
  msPerDecodeToken: number;
  /** Decode tok/s of each timed run (headline timing): the spread behind the mean. */
  decodeRunsTokensPerS: number[];
  /** Host time per decode step spent encoding and submitting it (part of the wall clock). */
  hostMsPerDecodeToken: number;
  /** Dispatches per decode step, and host microseconds per dispatch (hostMsPerDecodeToken over them). */
  dispatchesPerDecodeStep: number;
  hostUsPerDispatch: number;
  weightBytesPerToken: number;
  adapter: string;
  options: SpeedOptions;
}

/** Bytes a tensor's storage holds (quantized rows count their codes and scales). */
const tensorBytes = (t: GpuTensor) => weightBytes(t.dtype, t.shape);

/** Weight bytes a decode step reads under a plan: the plan's blocks, the final norm, the head and one embedding row. */
export function weightBytesPerToken(model: LlamaModel, plan: BlockPlan): number {
  const w = model.weights;
  let bytes = tensorBytes(w.finalNorm) + tensorBytes(w.head) + weightRowBytes(w.embed.dtype, model.config.hiddenSize);
  for (const b of plan) bytes += blockTensors(w.blocks[b]!).reduce((s, t) => s + tensorBytes(t), 0);
  return bytes;
}

/** A deterministic prompt of n ordinary tokens (speed does not depend on the text). */
function benchPrompt(model: LlamaModel, n: number): number[] {
  const bos = model.config.bosTokenId ?? 1;
  return [bos, ...Array.from({ length: n - 1 }, (_, i) => 3 + ((i * 7919) % (model.config.vocabSize - 3)))];
}

/**
 * Speed of several plans, measured round-robin: every warm-up and timed run goes through all plans
 * in turn, so slow drifts (GPU clocks ramping, thermals, a busy host) weigh on every plan alike and
 * the speedups between them stay fair. Each plan's figures are the mean over its own timed runs.
 */
export async function measureSpeeds(model: LlamaModel, setups: (BlockPlan | SpeedVariant)[], s: SpeedOptions = DEFAULT_SPEED, o: JobOptions = {}): Promise<SpeedResult[]> {
  const variants = setups.map((p): SpeedVariant | undefined => ('label' in p ? p : undefined));
  const plans = setups.map((p) => ('label' in p ? p.plan : p));
  const prompt = benchPrompt(model, s.promptTokens);
  const timer = GpuTimer.available(model.rt) ? new GpuTimer(model.rt, s.newTokens) : undefined;
  const sums = plans.map((): PlanSums => ({ wall: { prefillMs: 0, decodeMs: 0 }, hostMs: 0, dispatches: NaN, gpu: timer && { prefillMs: 0, decodeMs: 0 }, wallRuns: [], gpuRuns: [] }));
  const total = (s.warmup + s.runs) * plans.length;
  let done = 0;
  try {
    for (let run = 0; run < s.warmup + s.runs; run++) {
      const timed = run >= s.warmup;
      for (const [i, plan] of plans.entries()) {
        checkCancelled(o.signal);
        const v = variants[i];
        const r = await generate(model, prompt, {
          plan, adapters: v?.adapters, state: v?.state, maxNewTokens: s.newTokens, forceLength: true, seed: run, sampling: { temperature: 1, topK: 50, topP: 0.95 }, timer: timed ? timer : undefined,
        });
        const sum = sums[i]!;
        if (timed) {
          sum.wall.prefillMs += r.prefillMs;
          sum.wall.decodeMs += r.decodeMs;
          sum.wallRuns.push(r.decodeMs);
          sum.hostMs += r.decodeHostMs;
          sum.dispatches = r.dispatchesPerDecodeStep;
          const steps = timer && sum.gpu ? await timer.readMs(s.newTokens) : undefined;
          // An implementation may return zeros (timestamps disabled): then wall clock is the only figure.
          if (steps && sum.gpu) {
            const decodeMs = steps.slice(1).reduce((a, b) => a + b, 0);
            sum.gpu.prefillMs += steps[0]!;
            sum.gpu.decodeMs += decodeMs;
            sum.gpuRuns.push(decodeMs);
          } else sum.gpu = undefined;
        }
        o.onProgress?.(++done, total, `${v ? v.label : `${plan.length} blocks`}: ${timed ? `timed run ${run - s.warmup + 1} of ${s.runs}` : `warm-up ${run + 1} of ${s.warmup}`}`);
      }
    }
  } finally {
    timer?.destroy();
  }
  return plans.map((plan, i) => {
    const r = speedResult(model, plan, s, sums[i]!);
    return variants[i] ? { ...r, variant: variants[i]!.label } : r;
  });
}

/** One plan's figures from its summed timed runs. */
function speedResult(model: LlamaModel, plan: BlockPlan, s: SpeedOptions, sum: PlanSums): SpeedResult {
  const decodeSteps = s.newTokens - 1;
  const throughput = (t: PhaseMs): Throughput => ({
    prefillTokensPerS: (s.promptTokens * s.runs * 1000) / t.prefillMs,
    decodeTokensPerS: decodeSteps > 0 ? (decodeSteps * s.runs * 1000) / t.decodeMs : NaN,
  });
  const headline = sum.gpu ?? sum.wall;
  const hostMsPerDecodeToken = decodeSteps > 0 ? sum.hostMs / (decodeSteps * s.runs) : NaN;
  return {
    plan: [...plan],
    blocks: plan.length,
    ...throughput(headline),
    timing: sum.gpu ? 'timestamp-query' : 'wall clock',
    wall: throughput(sum.wall),
    tokensPerS: (s.newTokens * s.runs * 1000) / (sum.wall.prefillMs + sum.wall.decodeMs),
    msPerDecodeToken: decodeSteps > 0 ? headline.decodeMs / (decodeSteps * s.runs) : NaN,
    decodeRunsTokensPerS: decodeSteps > 0 ? (sum.gpu ? sum.gpuRuns : sum.wallRuns).map((ms) => (decodeSteps * 1000) / ms) : [],
    hostMsPerDecodeToken,
    dispatchesPerDecodeStep: sum.dispatches,
    hostUsPerDispatch: (1000 * hostMsPerDecodeToken) / sum.dispatches,
    weightBytesPerToken: weightBytesPerToken(model, plan),
    adapter: describeAdapter(model.rt.ctx.adapter),
    options: s,
  };
}

interface PhaseMs {
  prefillMs: number;
  decodeMs: number;
}

/** One plan's timed runs: summed phases (wall clock, and GPU time while the adapter gives it), and each run's decode ms. */
interface PlanSums {
  wall: PhaseMs;
  hostMs: number;
  dispatches: number;
  gpu: PhaseMs | undefined;
  wallRuns: number[];
  gpuRuns: number[];
}

/** Measured decode speedup of `pruned` over `full`, and the memory-bound ideal for comparison. */
export function speedup(full: SpeedResult, pruned: SpeedResult): { measured: number; ideal: number; ofIdeal: number } {
  const measured = pruned.decodeTokensPerS / full.decodeTokensPerS;
  const ideal = full.weightBytesPerToken / pruned.weightBytesPerToken;
  return { measured, ideal, ofIdeal: measured / ideal };
}
