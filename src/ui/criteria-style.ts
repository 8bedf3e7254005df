import type { ScoredCriterion } from '../prune/mask';

/** One colour per criterion (bars, legend), readable on light and dark panels. */
export const CRITERION_COLOR: Record<ScoredCriterion, string> = {
  ppl: '#2f6fde',
  taylor: '#d9822b',
  magnitude: '#7a8599',
  'block-influence': '#2e9e6b',
  angular: '#a356d6',
  'iterative-ppl': '#d64f7a',
};
