/**
 * Angular distance (Gromov et al.): d(l, l+n) between the last token's hidden states before block
 * l and after block l+n-1 (../similarity.ts). The per-block score is d(l, l+1); k blocks are the
 * contiguous window with the smallest d(l, l+k), so windows of every length are kept.
 */
import { defineCriterion } from './criterion';
import { rankBlocks } from './ranking';

export const angular = defineCriterion({
  id: 'angular',
  label: 'Angular',
  hint: 'arccos of the last token’s cos / π (Gromov et al.)',
  color: '#a356d6',
  needsData: true,
  // The mask records the order of the windows' start blocks; only the run's contiguity is checked.
  rankedByScore: false,
  selection: 'contiguous',
  // Results carry d(l, l+n) for every window length n (older entries stopped at n = 4).
  cacheSettings: () => ({ windows: 'all lengths' }),
  async run({ model, data, job }) {
    const { similarityScores } = await import('../similarity');
    const { ids, N, T } = data();
    const r = await similarityScores(model, ids, N, T, { ...job, maxWindow: model.numLayers - 1 });
    const single = r.angular[0]!;
    return { scores: single, ranking: rankBlocks(single), detail: { windows: r.angular } };
  },
});
