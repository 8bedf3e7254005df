/**
 * What a criterion is to the lab: one module per criterion (./ppl.ts, ./angular.ts, ...) fills in
 * this shape, and ./registry.ts lists them. The engine runs `run`, the score cache keys on
 * `needsData` and `cacheSettings`, selection and mask validation follow `selection` and
 * `rankedByScore`, the page shows `label`, `hint` and `color`.
 *
 * A module must stay cheap to import (the page reads the registry): `run` loads its computation
 * with a dynamic import, so GPU code reaches only the engine's bundles.
 */
import type { LlamaModel } from '../../model/model';
import type { JobOptions } from '../../util/job';

/** The calibration batch a data-based criterion reads: N rows of T token ids, row-major. */
export interface CalibrationBatch {
  ids: Uint32Array;
  N: number;
  T: number;
}

export interface CriterionContext {
  model: LlamaModel;
  /** The calibration batch; throws for a criterion with needsData = false (it has none). */
  data: () => CalibrationBatch;
  /** k asked for at scoring time (at most L - 1) and the resolved protected set: iterative PPL removes that many, never a protected one. */
  steps: number;
  protect: readonly number[];
  job: JobOptions;
}

/** What a run returns. Lower score = less important = removed first. */
export interface CriterionOutput {
  /** Per block (original index); null where the criterion gives a block no score. */
  scores: (number | null)[];
  /** Block indices, least important first. */
  ranking: number[];
  /** Criterion-specific figures (e.g. PPL of the full model, per-weight scores, angular windows). */
  detail: Record<string, unknown>;
}

/**
 * How k blocks are picked from a result (./selection.ts), and what the mask format checks of a
 * removed set: 'ranked' - the k lowest-scored unprotected blocks, never one the criterion left
 * unscored; 'contiguous' - one run of k consecutive blocks (angular distance's window).
 */
export type SelectionKind = 'ranked' | 'contiguous';

export interface Criterion<Id extends string = string> {
  id: Id;
  /** Display name (page, CLI table headers use the id). */
  label: string;
  /** One line on what it computes (page). */
  hint: string;
  /** Bar and legend colour (page), readable on light and dark panels. */
  color: string;
  /** Whether it reads the calibration set (false: the cache key and the mask carry no calibration). */
  needsData: boolean;
  /** Whether its ranking is its scores ascending (the mask format checks it); false: an order of its own. */
  rankedByScore: boolean;
  selection: SelectionKind;
  /** The request settings its result depends on, added to the score-cache key ({} when none). */
  cacheSettings(o: { steps: number; protect: readonly number[] }): Record<string, unknown>;
  run(ctx: CriterionContext): Promise<CriterionOutput>;
}

/** What a module must say; the rest defaults to a criterion ranked by its scores, selected by rank, with no settings. */
export type CriterionSpec<Id extends string> = Omit<Criterion<Id>, 'rankedByScore' | 'selection' | 'cacheSettings'> & Partial<Criterion<Id>>;

/** Fills in the defaults; keeps the id's literal type, so the registry's ids form a union. */
export const defineCriterion = <const Id extends string>(c: CriterionSpec<Id>): Criterion<Id> => ({
  rankedByScore: true,
  selection: 'ranked',
  cacheSettings: () => ({}),
  ...c,
});
