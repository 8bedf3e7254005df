/** The seed's Taylor+ criterion: sum of |W * dL/dW| per block from one forward and backward pass (../taylor.ts). */
import { defineCriterion } from './criterion';
import { rankBlocks } from './ranking';

export const taylor = defineCriterion({
  id: 'taylor',
  label: 'Taylor',
  hint: 'Σ|W·∂L/∂W| per block (one forward + backward)',
  color: '#d9822b',
  needsData: true,
  async run({ model, data, job }) {
    const { computeTaylorScores } = await import('../taylor');
    const { ids, N, T } = data();
    const r = await computeTaylorScores(model, ids, N, T, job);
    return { scores: r.perBlock, ranking: rankBlocks(r.perBlock), detail: { perWeight: r.perWeight, loss: r.loss, peakBytes: r.peakBytes } };
  },
});
