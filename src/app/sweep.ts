/**
 * The quality-speed frontier of every computed criterion (the engine's sweep job, ./jobs/sweep.ts):
 * what it returns, and the flat rows the CLI, the page's table and its CSV show.
 */
import type { BosMode, PerplexityResult } from '../eval/perplexity';
import type { ScoredCriterion } from '../prune/criteria/registry';
import type { SweepLine } from '../prune/criteria/sweep-plans';

/**
 * Held-out windows (of 128 tokens) a sweep evaluates unless asked otherwise. Measured on the
 * embedded model with Dawn's SwiftShader (README, "Using the lab"): one criterion's 9 plans on 8
 * windows took 65 s of CPU, so two criteria take about a minute on two free cores; each plan's PPL
 * relative to the dense model's moved by at most 1% between 8 and 16 windows (the absolute level by
 * 6%: the KJV books differ, and every plan sees the same windows).
 */
export const DEFAULT_SWEEP_WINDOWS = 8;

/** A criterion's result as a sweep reads it (what selection needs). */
export interface SweepCriterion {
  criterion: ScoredCriterion;
  scores: (number | null)[];
  /** Contiguous criteria: windows[n-1][l] = the score of removing l..l+n-1. */
  windows?: number[][];
}

/** One distinct plan of a sweep: evaluated once however many criteria select it. */
export interface SweepPlanResult {
  kept: number[];
  removed: number[];
  ppl: PerplexityResult;
  /** Memory-bound ideal decode speedup over the full model (weight bytes per token). */
  idealSpeedup: number;
  /** Taken from the caller's earlier results instead of evaluated. */
  cached: boolean;
}

export interface SweepResult {
  textName: string;
  textSha256: string;
  window: number;
  bos: BosMode;
  /** Windows each plan was evaluated on. */
  windows: number;
  protect: number[];
  maxK: number;
  lines: SweepLine[];
  plans: SweepPlanResult[];
  /** Block forwards run with the residual prefix reused, and without (plain evaluation of every plan evaluated). */
  blockRuns: number;
  blockRunsWithoutReuse: number;
  seconds: number;
}

export interface SweepRow {
  criterion: ScoredCriterion;
  k: number;
  removed: number[];
  ppl: number;
  idealSpeedup: number;
}

/** The key of a removed set inside a sweep. */
export const removedKey = (removed: readonly number[]): string => removed.join(',');

/** One row per criterion and k, in line order. */
export function sweepRows(s: Pick<SweepResult, 'lines' | 'plans'>): SweepRow[] {
  const byRemoved = new Map(s.plans.map((p) => [removedKey(p.removed), p]));
  return s.lines.flatMap((line) => line.points.flatMap((pt) => {
    const p = byRemoved.get(removedKey(pt.removed));
    return p ? [{ criterion: line.criterion, k: pt.k, removed: pt.removed, ppl: p.ppl.ppl, idealSpeedup: p.idealSpeedup }] : [];
  }));
}

/** The rows as CSV (removed blocks space-separated in one column). */
export function sweepCsv(rows: readonly SweepRow[]): string {
  const lines = rows.map((r) => [r.criterion, r.k, r.removed.join(' '), r.ppl, r.idealSpeedup].join(','));
  return ['criterion,k,removed,ppl,ideal_speedup', ...lines].join('\n') + '\n';
}
