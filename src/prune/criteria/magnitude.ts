/** Weight magnitude: sum of |W| per block, data-free (../magnitude.ts). */
import { defineCriterion } from './criterion';
import { rankBlocks } from './ranking';

export const magnitude = defineCriterion({
  id: 'magnitude',
  label: 'Magnitude',
  hint: 'Σ|W| per block (no data)',
  color: '#7a8599',
  needsData: false,
  async run({ model }) {
    const { magnitudeScores } = await import('../magnitude');
    const m = await magnitudeScores(model);
    return { scores: m.perBlock, ranking: rankBlocks(m.perBlock), detail: { perWeight: m.perWeight } };
  },
});
