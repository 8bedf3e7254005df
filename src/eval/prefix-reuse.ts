/**
 * Perplexity of many plans on one set of windows, reusing the residual stream they share: a plan
 * that keeps blocks 0..f-1 and removes block f computes exactly what the full model computes up to
 * block f, so each window batch runs the full model's prefix once, capturing the input of every
 * block some plan removes first, and each plan restarts from its own first removed block. The
 * batches are perplexityOf's, so every plan's sums are those of its plain evaluation.
 */
import { createStorageBuffer } from '../gpu/buffers';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';
import { NllTotal, windowBatches, type PerplexityProtocol, type PerplexityResult } from './perplexity';

export interface SharedPrefixPerplexities {
  /** Aligned with the plans. */
  results: PerplexityResult[];
  /** Block forwards run, and what evaluating every plan from its embeddings would have run. */
  blockRuns: number;
  blockRunsWithoutReuse: number;
}

/** The first block a plan (increasing original indices) drops from the full model; numLayers for the full plan. */
export function firstRemoved(plan: BlockPlan, numLayers: number): number {
  for (let i = 0; i < plan.length; i++) if (plan[i] !== i) return i;
  return plan.length === numLayers ? numLayers : plan.length;
}

export async function perplexitiesSharingPrefix(model: LlamaModel, windows: Uint32Array[], plans: readonly BlockPlan[], p: Pick<PerplexityProtocol, 'window' | 'batch'>, o: JobOptions = {}): Promise<SharedPrefixPerplexities> {
  const L = model.numLayers;
  const T = p.window;
  const batches = windowBatches(windows, p);
  const starts = plans.map((plan) => firstRemoved(plan, L));
  const wantsFull = starts.includes(L);
  // The prefix run goes as far as the deepest restart point (the whole model when a plan is the full one).
  const prefixEnd = wantsFull ? L : Math.max(0, ...starts);
  const prefix = model.fullPlan().slice(0, prefixEnd);
  const rowBytes = model.config.hiddenSize * 4;
  const maxRows = Math.max(...batches.map((b) => b.B)) * T;
  const states = new Map<number, GPUBuffer>();
  const totals = plans.map(() => new NllTotal());
  let blockRuns = 0;
  let blockRunsWithoutReuse = 0;
  try {
    for (const f of new Set(starts)) if (f < L) states.set(f, createStorageBuffer(model.rt.device, maxRows * rowBytes, `sweep.residual.${f}`));
    const captures = Array.from({ length: prefix.length + 1 }, (_, j) => states.get(j));
    const steps = batches.length * (plans.length + 1);
    for (const [bi, b] of batches.entries()) {
      checkCancelled(o.signal);
      const batch = model.batch(b.B, T);
      batch.setTokens(b.ids);
      const full = await batch.run({ plan: prefix, captures, skipHead: !wantsFull });
      blockRuns += prefix.length;
      for (const [i, plan] of plans.entries()) {
        checkCancelled(o.signal);
        const f = starts[i]!;
        blockRunsWithoutReuse += plan.length;
        if (f === L) totals[i]!.add(full);
        else {
          const rest = plan.slice(f);
          totals[i]!.add(await batch.run({ plan: rest, from: states.get(f)! }));
          blockRuns += rest.length;
        }
        o.onProgress?.(bi * (plans.length + 1) + i + 2, steps, `windows ${b.end} of ${windows.length}, plan ${i + 1} of ${plans.length}`);
      }
    }
  } finally {
    for (const s of states.values()) s.destroy();
  }
  return { results: totals.map((t) => t.result()), blockRuns, blockRunsWithoutReuse };
}
