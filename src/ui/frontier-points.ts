/**
 * The Frontier chart's data: one line per criterion over a shared x (ideal speedup or blocks
 * removed), perplexity on y, the dense model every line's first point; and which line a pointer
 * position means (the nearest perplexity, on the chart's log scale, at the pointer's x).
 */
import { removedKey, type SweepResult } from '../app/sweep';
import { criterion as criterionById, type ScoredCriterion } from '../prune/criteria/registry';

export interface FrontierLine {
  criterion: ScoredCriterion;
  label: string;
  color: string;
  /** Aligned with `xs`: the PPL and removed blocks of this criterion's plan there, null where it has none. */
  ppl: (number | null)[];
  removed: (number[] | null)[];
}

export interface FrontierData {
  xs: number[];
  lines: FrontierLine[];
}

export function frontierData(sweep: Pick<SweepResult, 'lines' | 'plans'>, axis: 'speedup' | 'removed'): FrontierData {
  const byRemoved = new Map(sweep.plans.map((p) => [removedKey(p.removed), p]));
  const xOf = (removed: number[]) => (axis === 'removed' ? removed.length : byRemoved.get(removedKey(removed))!.idealSpeedup);
  const xs = [...new Set(sweep.lines.flatMap((l) => l.points.map((p) => xOf(p.removed))))].sort((a, b) => a - b);
  const lines = sweep.lines.map((l) => {
    const c = criterionById(l.criterion);
    const ppl: (number | null)[] = xs.map(() => null);
    const removed: (number[] | null)[] = xs.map(() => null);
    for (const p of l.points) {
      const i = xs.indexOf(xOf(p.removed));
      const v = byRemoved.get(removedKey(p.removed))!.ppl.ppl;
      ppl[i] = Number.isFinite(v) ? v : null;
      removed[i] = p.removed;
    }
    return { criterion: l.criterion, label: c.label, color: c.color, ppl, removed };
  });
  return { xs, lines };
}

/** The index in `xs` and the PPL of a removed set, when the sweep holds it (the current plan's mark). */
export function pointOf(sweep: Pick<SweepResult, 'plans'>, data: FrontierData, axis: 'speedup' | 'removed', removed: readonly number[]): { index: number; ppl: number } | null {
  const plan = sweep.plans.find((p) => removedKey(p.removed) === removedKey(removed));
  if (!plan || !Number.isFinite(plan.ppl.ppl)) return null;
  const index = data.xs.indexOf(axis === 'removed' ? plan.removed.length : plan.idealSpeedup);
  return index < 0 ? null : { index, ppl: plan.ppl.ppl };
}

/** The line whose point at `index` is nearest to `ppl` (log distance), or null where none has one. */
export function nearestLine(data: FrontierData, index: number, ppl: number): FrontierLine | null {
  let best: FrontierLine | null = null;
  let bestD = Infinity;
  for (const l of data.lines) {
    const v = l.ppl[index];
    if (v == null) continue;
    const d = Math.abs(Math.log(v) - Math.log(ppl));
    if (d < bestD) [best, bestD] = [l, d];
  }
  return best;
}
