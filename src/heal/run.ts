/**
 * A healing run: LoRA adapters trained on sequences with loss targets (src/heal/data.ts) for a number
 * of optimizer steps, evaluated on a held-out set before training, every `evalEvery` steps and at
 * the end; the adapter with the lowest held-out loss is the one returned (the seed's
 * load_best_model_at_end), as a PEFT folder with the loss of every step and every evaluation.
 * Data order: the training sequences shuffled once by mulberry32(seed); step k takes the next
 * micro x batch sequences in that order, cycling; each micro-batch right-padded to a multiple of 8.
 * Held-out loss: mean NLL over the held-out targets through the batched forward with the adapters
 * in evaluation mode (no dropout; B = 0 before training: the pruned model); PPL = exp(loss). For
 * text windows this is the perplexity protocol's PPL of those windows.
 * Resumable: `onState` gets the trainer's state after every optimizer step, and a run given one as
 * `resume` continues from it exactly (same data order, schedule and dropout seeds); a resumed run
 * evaluates step 0 (the pruned model) and then its own steps, so its best adapter is chosen among those.
 * A non-finite loss ends the run before that step's update: the adapters keep the last good values,
 * which are evaluated, and the result (best adapter, losses, evaluations) comes back with `stopped`.
 */
import { BatchForward } from '../model/batch-forward';
import { packBatch, shuffled, type HealData, type HealExample } from './data';
import { LoraAdapters } from './lora';
import { checkHealMemory, EVAL_BATCH, healMemoryEstimate } from './memory';
import { peftAdapterFolder, type AdapterValues, type PeftAdapterFolder } from './peft';
import { ADAMW_DEFAULTS, LoraTrainer, NonFiniteLossError, type MicroBatch, type TrainerState } from './train';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';

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
  /** Tokens per sequence: text windows, the cut of .jsonl rows. */
  window: number;
  seed: number;
  /** Evaluate the held-out set every this many optimizer steps (0: before and after only; default DEFAULT_EVAL_EVERY). */
  evalEvery?: number;
  /** .jsonl data: rows held out for evaluation (default: defaultHeldoutRows). */
  heldoutRows?: number;
  /** GPU memory the run may take beside the weights, MiB (default: defaultHealBudget); a run estimated above it is refused up front. */
  memoryBudgetMiB?: number;
}

/** Sized for the embedded model on a software adapter: a few minutes. */
export const HEAL_DEFAULTS: HealSettings = { r: 8, alpha: 16, dropout: 0.05, lr: 1e-3, warmupSteps: 5, steps: 50, batch: 4, micro: 1, window: 64, seed: 0 };

/** Held-out evaluations per run by default: every tenth of the steps (the seed: every 100 of ~1600). */
export const DEFAULT_EVAL_EVERY = (steps: number) => Math.max(1, Math.round(steps / 10));

export interface HeldoutEvaluation {
  /** Optimizer steps taken when evaluated (0: before training). */
  step: number;
  /** Mean NLL per held-out target token, and exp of it. */
  loss: number;
  ppl: number;
}

export interface HealResult {
  /** Mean next-token loss of each optimizer step run by this call (before its update). */
  losses: number[];
  adapter: PeftAdapterFolder;
  tokensPerS: number;
  /** Training sequences. */
  windows: number;
  /** Held-out perplexity before healing and of the returned (best) adapter, with its step. */
  heldout?: { before: number; after: number; windows: number; bestStep: number };
  evaluations: HeldoutEvaluation[];
  /** Seconds spent in optimizer steps (evaluations excluded). */
  trainSeconds: number;
  /**
   * A non-finite loss ended the run early: the optimizer steps taken (the adapters' last good values,
   * evaluated and eligible as the best) and the message. The result is otherwise complete.
   */
  stopped?: { step: number; message: string };
}

/** Held-out mean NLL with the adapters, in batches of EVAL_BATCH sequences through batched forwards of their own (one per shape). */
async function heldoutLoss(model: LlamaModel, lora: LoraAdapters, examples: HealExample[], plan: BlockPlan, window: number, o: JobOptions): Promise<number> {
  const shapes = new Map<string, BatchForward>();
  let nll = 0;
  let count = 0;
  try {
    for (let i = 0; i < examples.length; i += EVAL_BATCH) {
      checkCancelled(o.signal);
      const { ids, targets, N, T } = packBatch(examples.slice(i, i + EVAL_BATCH), window);
      let f = shapes.get(`${N}x${T}`);
      if (!f) shapes.set(`${N}x${T}`, (f = new BatchForward(model.rt, model.config, model.weights, N, T, lora.forShape(N * T, false))));
      f.setTokens(ids, targets);
      const r = await f.run({ plan });
      for (let b = 0; b < N; b++) {
        nll += r.sums[b]!;
        count += r.counts[b]!;
      }
    }
  } finally {
    for (const f of shapes.values()) f.destroy();
  }
  if (count === 0) throw new RangeError('the held-out set has no target tokens');
  return nll / count;
}

export async function heal(
  model: LlamaModel,
  data: HealData,
  plan: BlockPlan,
  s: HealSettings,
  o: JobOptions & {
    baseModel: string;
    resume?: TrainerState; onState?: (state: TrainerState, loss: number) => void | Promise<void>;
  },
): Promise<HealResult> {
  if (data.train.length < s.batch) throw new RangeError(`healing needs at least ${s.batch} training sequences (one micro-batch); the data has ${data.train.length}`);
  const limits = model.rt.device.limits;
  checkHealMemory(healMemoryEstimate(model.config, plan, s, limits), limits, s.memoryBudgetMiB !== undefined ? s.memoryBudgetMiB * 2 ** 20 : undefined);
  const order = shuffled(data.train, s.seed);
  const evalEvery = s.evalEvery ?? DEFAULT_EVAL_EVERY(s.steps);
  const lora = new LoraAdapters(model.rt, model.config, plan, { r: s.r, alpha: s.alpha, dropout: s.dropout, seed: s.seed });
  let trainer: LoraTrainer | undefined;
  try {
    const evaluations: HeldoutEvaluation[] = [];
    let best: { loss: number; step: number; values: AdapterValues[] } | undefined;
    const evaluate = async (step: number) => {
      if (!data.heldout.length) return;
      const loss = await heldoutLoss(model, lora, data.heldout, plan, s.window, { signal: o.signal });
      evaluations.push({ step, loss, ppl: Math.exp(loss) });
      if (!best || loss < best.loss) best = { loss, step, values: await lora.read() };
    };
    // Step 0 with the fresh adapters (B = 0: the pruned model), also when resuming: the run's "before".
    await evaluate(0);
    trainer = new LoraTrainer(model, lora, { lr: s.lr, warmupSteps: s.warmupSteps, totalSteps: s.steps, ...ADAMW_DEFAULTS });
    if (o.resume) trainer.importState(o.resume);
    const start = trainer.step;
    const losses: number[] = [];
    let next = start * s.batch * s.micro;
    let tokens = 0;
    let trainMs = 0;
    let stopped: HealResult['stopped'];
    for (let k = start; k < s.steps; k++) {
      checkCancelled(o.signal);
      const micro: MicroBatch[] = Array.from({ length: s.micro }, () => {
        const group = Array.from({ length: s.batch }, () => order[next++ % order.length]!);
        tokens += group.reduce((n, e) => n + e.ids.length, 0);
        const { ids, targets, N, T } = packBatch(group, s.window);
        return { ids, N, T, ...(targets ? { targets } : {}) };
      });
      const t0 = performance.now();
      let loss: number;
      try {
        loss = await trainer.trainStep(micro);
      } catch (err) {
        if (!(err instanceof NonFiniteLossError)) throw err;
        stopped = { step: trainer.step, message: err.message };
        if (evaluations.at(-1)?.step !== trainer.step) await evaluate(trainer.step);
        break;
      }
      losses.push(loss);
      trainMs += performance.now() - t0;
      if (o.onState) await o.onState(await trainer.exportState(), loss);
      const step = k + 1;
      if ((evalEvery > 0 && step % evalEvery === 0) || step === s.steps) await evaluate(step);
      const last = evaluations.at(-1);
      const held = last?.step === step ? `, held-out PPL ${last.ppl.toFixed(2)}` : '';
      o.onProgress?.(step, s.steps, `step ${step}: loss ${loss.toFixed(4)}${held}`);
    }
    const values = best?.values ?? (await lora.read());
    const before = evaluations[0];
    return {
      losses,
      adapter: peftAdapterFolder(values, { plan, r: s.r, alpha: s.alpha, dropout: s.dropout, baseModel: o.baseModel }),
      tokensPerS: tokens / (trainMs / 1000),
      windows: data.train.length,
      evaluations,
      trainSeconds: trainMs / 1000,
      ...(stopped ? { stopped } : {}),
      ...(before && best ? { heldout: { before: before.ppl, after: Math.exp(best.loss), windows: data.heldout.length, bestStep: best.step } } : {}),
    };
  } finally {
    trainer?.dispose();
    lora.dispose();
  }
}
