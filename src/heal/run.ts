/**
 * A healing run: LoRA adapters trained on a token stream for a number of optimizer steps, the
 * adapters returned as a PEFT folder with the loss of every step.
 * Data: the stream cut into non-overlapping windows of `window` tokens (BOS at the stream start
 * only, as the perplexity protocol), shuffled once by mulberry32(seed); step k takes the next
 * micro x batch windows in that order, cycling.
 * With a held-out stream, its perplexity (same windows, BOS at the start only) is measured before
 * and after training through the batched forward with the adapters (B = 0 before: the pruned model).
 * Resumable: `onState` gets the trainer's state after every optimizer step, and a run given one as
 * `resume` continues from it exactly (same data order, schedule and dropout seeds).
 */
import { evaluationWindows, perplexityOf } from '../eval/perplexity';
import { adapterNll } from './adapter-nll';
import { LoraAdapters } from './lora';
import { peftAdapterFolder, type PeftAdapterFolder } from './peft';
import { ADAMW_DEFAULTS, LoraTrainer, type MicroBatch, type TrainerState } from './train';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';
import { mulberry32 } from '../util/random';

export interface HealSettings {
  r: number;
  alpha: number;
  dropout: number;
  lr: number;
  warmupSteps: number;
  steps: number;
  /** Sequences per micro-batch, micro-batches per optimizer step (gradient accumulation). */
  batch: number;
  micro: number;
  /** Tokens per sequence. */
  window: number;
  seed: number;
}

/** Sized for the embedded model on a software adapter: a few minutes. */
export const HEAL_DEFAULTS: HealSettings = { r: 8, alpha: 16, dropout: 0.05, lr: 1e-3, warmupSteps: 5, steps: 50, batch: 4, micro: 1, window: 64, seed: 0 };

export interface HealResult {
  /** Mean next-token loss of each optimizer step run by this call (before its update). */
  losses: number[];
  adapter: PeftAdapterFolder;
  tokensPerS: number;
  windows: number;
  /** Held-out perplexity before and after healing (with a held-out stream). */
  heldout?: { before: number; after: number; windows: number };
}

/** Held-out perplexity of the plan with the adapters, through batched forwards of their own (one per batch shape). */
async function heldoutPpl(model: LlamaModel, lora: LoraAdapters, windows: Uint32Array[], plan: BlockPlan, T: number, o: JobOptions): Promise<number> {
  const nll = adapterNll(model, lora, plan, T);
  try {
    return (await perplexityOf(model, windows, plan, { window: T }, o, nll.nllOf)).ppl;
  } finally {
    nll.dispose();
  }
}

export async function heal(
  model: LlamaModel,
  stream: ArrayLike<number>,
  plan: BlockPlan,
  s: HealSettings,
  o: JobOptions & {
    baseModel: string; heldout?: ArrayLike<number>; heldoutWindows?: number; bosId?: number;
    resume?: TrainerState; onState?: (state: TrainerState, loss: number) => void | Promise<void>;
  },
): Promise<HealResult> {
  const windows: Uint32Array[] = [];
  for (let at = 0; at + s.window <= stream.length; at += s.window) windows.push(Uint32Array.from(Array.prototype.slice.call(stream, at, at + s.window) as number[]));
  const perStep = s.batch * s.micro;
  if (windows.length < s.batch) throw new RangeError(`healing needs at least ${s.batch} windows of ${s.window} tokens; the text has ${windows.length}`);
  const rand = mulberry32(s.seed);
  for (let i = windows.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [windows[i], windows[j]] = [windows[j]!, windows[i]!];
  }
  const lora = new LoraAdapters(model.rt, model.config, plan, { r: s.r, alpha: s.alpha, dropout: s.dropout, seed: s.seed });
  let trainer: LoraTrainer | undefined;
  try {
    const evalWindows = o.heldout ? evaluationWindows(o.heldout, o.bosId ?? 1, { window: s.window, bos: 'first', maxWindows: o.heldoutWindows ?? 32 }) : [];
    const evaluate = () => heldoutPpl(model, lora, evalWindows, plan, s.window, { signal: o.signal });
    const before = o.heldout ? await evaluate() : NaN;
    trainer = new LoraTrainer(model, lora, { lr: s.lr, warmupSteps: s.warmupSteps, totalSteps: s.steps, ...ADAMW_DEFAULTS });
    if (o.resume) trainer.importState(o.resume);
    const start = trainer.step;
    const losses: number[] = [];
    let next = start * perStep;
    const t0 = performance.now();
    for (let k = start; k < s.steps; k++) {
      checkCancelled(o.signal);
      const micro: MicroBatch[] = Array.from({ length: s.micro }, () => {
        const ids = new Uint32Array(s.batch * s.window);
        for (let b = 0; b < s.batch; b++) ids.set(windows[next++ % windows.length]!, b * s.window);
        return { ids, N: s.batch, T: s.window };
      });
      const loss = await trainer.trainStep(micro);
      losses.push(loss);
      if (o.onState) await o.onState(await trainer.exportState(), loss);
      o.onProgress?.(k + 1, s.steps, `step ${k + 1}: loss ${loss.toFixed(4)}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const heldout = o.heldout ? { before, after: await evaluate(), windows: evalWindows.length } : undefined;
    const values = await lora.read();
    return {
      losses,
      adapter: peftAdapterFolder(values, { plan, r: s.r, alpha: s.alpha, dropout: s.dropout, baseModel: o.baseModel }),
      tokensPerS: ((s.steps - start) * perStep * s.window) / seconds,
      windows: windows.length,
      ...(heldout ? { heldout } : {}),
    };
  } finally {
    trainer?.dispose();
    lora.dispose();
  }
}
