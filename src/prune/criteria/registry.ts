/**
 * Every criterion the lab offers, in display order. Adding one is a module beside this file plus
 * one line here (README: "Adding a criterion").
 */
import { angular } from './angular';
import { blockInfluence } from './block-influence';
import type { Criterion } from './criterion';
import { iterativePpl } from './iterative-ppl';
import { magnitude } from './magnitude';
import { ppl } from './ppl';
import { taylor } from './taylor';

export const CRITERIA = [ppl, taylor, magnitude, blockInfluence, angular, iterativePpl] as const;

/** A criterion's id: the criteria that produce per-block scores. */
export type ScoredCriterion = (typeof CRITERIA)[number]['id'];

export const CRITERION_IDS: readonly ScoredCriterion[] = CRITERIA.map((c) => c.id);

const byId = new Map<string, Criterion>(CRITERIA.map((c) => [c.id, c]));

export function isCriterion(id: string): id is ScoredCriterion {
  return byId.has(id);
}

/** The registered criterion with this id. */
export function criterion(id: ScoredCriterion): Criterion<ScoredCriterion> {
  return byId.get(id) as Criterion<ScoredCriterion>;
}
