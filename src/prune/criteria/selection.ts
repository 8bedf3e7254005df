/**
 * The one-shot selection of k blocks by a criterion's result, shared by the page, the CLI and the
 * engine's callers, so a criterion picks the same blocks wherever it is applied.
 */
import { resolveProtected, selectBlocks } from '../select';
import type { Criterion } from './criterion';
import { finiteOrNull } from './ranking';

/** What selection reads of a result (the engine's CriterionResult and the page's stored one both fit). */
export interface ScoredBlocks {
  scores: readonly (number | null)[];
  /** Contiguous criteria: windows[n-1][l] = the score of removing blocks l..l+n-1 together. */
  windows?: readonly (readonly number[])[] | undefined;
}

export interface BlockSelection {
  /** Removed blocks, sorted. */
  removed: number[];
  /** Why fewer than k blocks, or not the criterion's usual pick, were removed. */
  warning?: string;
}

/** Selects k blocks by `criterion`'s rule (see SelectionKind), never a protected one (negative = from the end). */
export function selectByCriterion(criterion: Criterion, result: ScoredBlocks, k: number, protect: readonly number[], numLayers: number): BlockSelection {
  const prot = resolveProtected(protect, numLayers);
  const window = criterion.selection === 'contiguous' && k > 1 ? result.windows?.[k - 1] : undefined;
  if (window) return contiguousWindow(window, k, prot, numLayers);
  // A criterion may score only some blocks (iterative PPL: the k of its run): never fill a larger
  // k with unscored blocks, which would go by index.
  const scored = result.scores.filter((x, i) => finiteOrNull(x) !== null && !prot.includes(i)).length;
  const short = k > scored && scored < result.scores.length - prot.length
    ? `${criterion.label} scored ${scored} unprotected blocks; removed those only (score it again with a larger k for more)` : undefined;
  const s = selectBlocks(result.scores, short ? scored : k, prot);
  // Contiguous scores from before windows of every length were kept: say the selection is per block.
  const stale = criterion.selection === 'contiguous' && k > 1
    ? `${criterion.id} windows of ${k} blocks were not computed (older scores): blocks picked one by one; compute ${criterion.id} again for a contiguous run` : undefined;
  const warning = [s.warning, short, stale].filter(Boolean).join('; ');
  return { removed: s.removed, ...(warning ? { warning } : {}) };
}

/** The run of k blocks with the smallest finite window score that avoids the protected set (ties: the first). */
function contiguousWindow(d: readonly number[], k: number, prot: readonly number[], numLayers: number): BlockSelection {
  let best = -1;
  for (let l = 0; l + k <= numLayers && l < d.length; l++) {
    if (finiteOrNull(d[l]) === null) continue;
    if (prot.some((p) => p >= l && p < l + k)) continue;
    if (best < 0 || d[l]! < d[best]!) best = l;
  }
  if (best < 0) return { removed: [], warning: `no window of ${k} contiguous blocks avoids the protected set` };
  return { removed: Array.from({ length: k }, (_, i) => best + i) };
}

/** Whether `removed` is what a criterion of this kind could have selected from `ranking` (the mask format's check). */
export function followsSelection(criterion: Criterion, removed: readonly number[], ranking: readonly number[], protect: readonly number[], numLayers: number): boolean {
  const r = [...removed].sort((a, b) => a - b);
  if (criterion.selection === 'contiguous') return r.every((b, i) => i === 0 || b === r[i - 1]! + 1);
  return ranking.length === numLayers && expectedFromRanking(ranking, protect, r.length).join() === r.join();
}

/** The first n unprotected blocks of a ranking, sorted: what a 'ranked' criterion removes. */
export function expectedFromRanking(ranking: readonly number[], protect: readonly number[], n: number): number[] {
  return ranking.filter((b) => !protect.includes(b)).slice(0, n).sort((a, b) => a - b);
}
