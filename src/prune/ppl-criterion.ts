/**
 * The seed's PPL criterion: the calibration perplexity of the full model with only block i
 * removed, for every i. Block i's removal does not change blocks 0..i-1, so each evaluation
 * restarts from the captured input of block i and runs blocks i+1..L-1: L(L-1)/2 block runs
 * instead of L(L-1) for recomputing every prefix.
 */
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { perplexity } from '../eval/perplexity';
import { checkCancelled, type JobOptions } from '../util/job';
import { captureResiduals } from './residuals';

export interface PplScores {
  /** PPL with block plan[j] removed, aligned with the plan. */
  scores: number[];
  /** PPL of the plan itself. */
  basePpl: number;
  /** Block forwards run, and what recomputing every prefix would have run. */
  blockRuns: number;
  blockRunsWithoutReuse: number;
}

/** Scores every block of `plan` (the full model by default) by removing it alone. */
export async function pplScores(model: LlamaModel, ids: Uint32Array, N: number, T: number, o: JobOptions & { plan?: BlockPlan } = {}): Promise<PplScores> {
  const plan = o.plan ?? model.fullPlan();
  const batch = model.batch(N, T);
  batch.setTokens(ids);
  const total = plan.length + 1;
  const { residuals, nll } = await captureResiduals(batch, plan, model.rt.device);
  try {
    o.onProgress?.(1, total, 'reference forward');
    const scores: number[] = [];
    let blockRuns = plan.length;
    for (let j = 0; j < plan.length; j++) {
      checkCancelled(o.signal);
      const rest = plan.slice(j + 1);
      const r = await batch.run({ plan: rest, from: residuals.states[j] });
      scores.push(perplexity(r.sums, r.counts));
      blockRuns += rest.length;
      o.onProgress?.(j + 2, total, `block ${plan[j]} removed`);
    }
    const L = plan.length;
    return { scores, basePpl: perplexity(nll.sums, nll.counts), blockRuns, blockRunsWithoutReuse: L + L * (L - 1) };
  } finally {
    residuals.destroy();
  }
}
