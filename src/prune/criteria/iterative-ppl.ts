/**
 * Iterative PPL (SLEB): greedy removal, re-scoring the remaining blocks after each step
 * (../iterative-ppl.ts). A block's score is the step that removed it (first removed = least
 * important); the others stay unscored, so selection never removes more than the run did.
 */
import { defineCriterion } from './criterion';

export const iterativePpl = defineCriterion({
  id: 'iterative-ppl',
  label: 'Iterative PPL',
  hint: 'greedy PPL removal, re-scored each step (SLEB)',
  color: '#d64f7a',
  needsData: true,
  rankedByScore: false,
  // Its run removes `steps` blocks and never a protected one: both change the result.
  cacheSettings: (o) => ({ steps: o.steps, protect: [...new Set(o.protect)].sort((a, b) => a - b) }),
  async run({ model, data, steps, protect, job }) {
    const { iterativePpl: run } = await import('../iterative-ppl');
    const { ids, N, T } = data();
    const L = model.numLayers;
    const removals = await run(model, ids, N, T, steps, { ...job, protect: [...protect] });
    const scores: (number | null)[] = Array.from({ length: L }, () => null);
    removals.forEach((s, i) => (scores[s.removed] = i));
    const removed = removals.map((s) => s.removed);
    const rest = Array.from({ length: L }, (_, i) => i).filter((i) => !removed.includes(i));
    return { scores, ranking: [...removed, ...rest], detail: { steps: removals } };
  },
});
