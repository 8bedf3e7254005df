/** The plans a speed sweep measures (the engine benchmark, in Node and in the browser's bench page). */
import { planWithout } from '../model/plan';

/**
 * Plans with k = 0 .. L/2 blocks removed. Speed depends only on k, so the blocks come from outside the
 * seed's protected set first (4 .. L-3), then from the rest but the first and the last (an 8-block
 * model has only two unprotected blocks).
 */
export function sweepPlans(L: number): { k: number; plan: number[] }[] {
  const blocks = Array.from({ length: L }, (_, i) => i);
  const unprotected = (i: number) => i >= 4 && i < L - 2;
  const candidates = [...blocks.filter(unprotected), ...blocks.filter((i) => !unprotected(i) && i > 0 && i < L - 1)];
  const out = [];
  for (let k = 0; k <= Math.floor(L / 2) && k <= candidates.length; k++) out.push({ k, plan: planWithout(L, candidates.slice(0, k)) });
  return out;
}
