/**
 * One-shot selection (METHOD.md): remove the k lowest-scored blocks, never a protected one.
 * Lower score = less important = removed first, for every criterion. A criterion's own rule
 * (e.g. angular distance's contiguous window) is in ./criteria/selection.ts.
 */
import { rankBlocks } from './criteria/ranking';

/** The seed's "+" heuristic: blocks 0..3 and L-2, L-1 are never removed. */
export const SEED_PROTECTED = [0, 1, 2, 3, -2, -1];

/** Resolves negative indices (-1 = last block) and drops out-of-range entries, sorted, unique. */
export function resolveProtected(spec: readonly number[], numLayers: number): number[] {
  const out = new Set<number>();
  for (const i of spec) {
    const j = i < 0 ? numLayers + i : i;
    if (Number.isInteger(j) && j >= 0 && j < numLayers) out.add(j);
  }
  return [...out].sort((a, b) => a - b);
}

/** k for a pruning ratio, rounded to nearest (20% of 32 -> 6.4 -> 6, as in the seed). */
export function blocksForRatio(ratio: number, numLayers: number): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`pruning ratio must be in [0, 1], got ${ratio}`);
  return Math.round(ratio * numLayers);
}

export interface Selection {
  removed: number[];
  kept: number[];
  /** Set when the protected set leaves fewer than k candidates; removed then holds them all. */
  warning?: string;
}

/** Blocks without a finite score rank last (./criteria/ranking.ts). */
export function selectBlocks(scores: readonly (number | null)[], k: number, protectedSpec: readonly number[] = SEED_PROTECTED): Selection {
  const L = scores.length;
  const protectedSet = new Set(resolveProtected(protectedSpec, L));
  const candidates = rankBlocks(scores).filter((i) => !protectedSet.has(i));
  let warning: string | undefined;
  if (candidates.length < k) {
    warning =
      `the protected set (${[...protectedSet].join(', ')}) leaves ${candidates.length} of ${L} blocks removable, ` +
      `fewer than the ${k} requested; removing ${candidates.length}`;
  }
  const removed = candidates.slice(0, k).sort((a, b) => a - b);
  const removedSet = new Set(removed);
  const kept = scores.map((_, i) => i).filter((i) => !removedSet.has(i));
  return warning ? { removed, kept, warning } : { removed, kept };
}
