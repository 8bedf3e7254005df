/**
 * The plans a sweep evaluates: for each criterion and k = 0..K, the blocks the registry's selection
 * (./selection.ts, the one the Blocks panel and the CLI apply) removes for k, the protected set
 * honoured. A criterion's line ends where its selection can no longer remove k blocks.
 */
import { resolveProtected } from '../select';
import { criterion as criterionById, type ScoredCriterion } from './registry';
import { selectByCriterion, type ScoredBlocks } from './selection';

export interface SweepPlanPoint {
  k: number;
  /** Removed blocks, sorted. */
  removed: number[];
  /** The selection's note for this k (e.g. angular windows not computed). */
  warning?: string;
}

export interface SweepLine {
  criterion: ScoredCriterion;
  /** k = 0 (the dense model) first. */
  points: SweepPlanPoint[];
  /** Why the line stops before K. */
  stopped?: string;
}

/** The default K: half of the blocks, at most the unprotected ones. */
export function defaultSweepK(numLayers: number, protect: readonly number[]): number {
  return Math.min(Math.floor(numLayers / 2), numLayers - resolveProtected(protect, numLayers).length);
}

/** The K a sweep runs to: the one asked for (default: defaultSweepK), at most the unprotected blocks and L - 1. */
export function sweepK(numLayers: number, protect: readonly number[], maxK?: number): number {
  const unprotected = numLayers - resolveProtected(protect, numLayers).length;
  return Math.max(0, Math.min(maxK ?? defaultSweepK(numLayers, protect), unprotected, numLayers - 1));
}

/** Every criterion's plans for k = 0..sweepK. */
export function sweepLines(results: readonly (ScoredBlocks & { criterion: ScoredCriterion })[], protect: readonly number[], numLayers: number, maxK?: number): SweepLine[] {
  const prot = resolveProtected(protect, numLayers);
  const K = sweepK(numLayers, prot, maxK);
  return results.map((r) => {
    const line: SweepLine = { criterion: r.criterion, points: [{ k: 0, removed: [] }] };
    for (let k = 1; k <= K; k++) {
      const s = selectByCriterion(criterionById(r.criterion), r, k, prot, numLayers);
      if (s.removed.length !== k) {
        line.stopped = s.warning ?? `no selection of ${k} blocks`;
        break;
      }
      line.points.push({ k, removed: s.removed, ...(s.warning ? { warning: s.warning } : {}) });
    }
    return line;
  });
}
