/**
 * Iterative PPL (SLEB): remove the block whose removal gives the lowest calibration PPL, then
 * re-score the survivors, k times. Each round reuses the prefix like the one-shot PPL criterion.
 */
import type { LlamaModel } from '../model/model';
import { checkCancelled, type JobOptions } from '../util/job';
import { pplScores } from './ppl-criterion';

export interface IterativeStep {
  removed: number;
  /** Calibration PPL after this removal. */
  ppl: number;
}

export async function iterativePpl(model: LlamaModel, ids: Uint32Array, N: number, T: number, k: number, o: JobOptions & { protect?: number[] } = {}): Promise<IterativeStep[]> {
  let plan = model.fullPlan();
  const protectedSet = new Set(o.protect ?? []);
  const steps: IterativeStep[] = [];
  for (let round = 0; round < k; round++) {
    checkCancelled(o.signal);
    const { scores } = await pplScores(model, ids, N, T, {
      plan,
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (done, total) => o.onProgress?.(round * 1000 + Math.round((done / total) * 1000), k * 1000, `round ${round + 1} of ${k}`),
    });
    let best = -1;
    plan.forEach((block, j) => {
      if (!protectedSet.has(block) && (best < 0 || scores[j]! < scores[best]!)) best = j;
    });
    if (best < 0) break;
    steps.push({ removed: plan[best]!, ppl: scores[best]! });
    plan = plan.filter((_, j) => j !== best);
  }
  return steps;
}
