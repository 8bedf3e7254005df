/** The seed's PPL criterion: calibration perplexity with each block removed alone (../ppl-criterion.ts). */
import { defineCriterion } from './criterion';
import { rankBlocks } from './ranking';

export const ppl = defineCriterion({
  id: 'ppl',
  label: 'PPL',
  hint: 'PPL with each block removed alone (L × N forwards)',
  color: '#2f6fde',
  needsData: true,
  async run({ model, data, job }) {
    const { pplScores } = await import('../ppl-criterion');
    const { ids, N, T } = data();
    const r = await pplScores(model, ids, N, T, job);
    return { scores: r.scores, ranking: rankBlocks(r.scores), detail: { fullPpl: r.basePpl, blockRuns: r.blockRuns, blockRunsWithoutReuse: r.blockRunsWithoutReuse } };
  },
});
