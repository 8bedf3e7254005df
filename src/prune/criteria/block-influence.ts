/** ShortGPT's Block Influence: 1 - cos between a block's input and output hidden states (../similarity.ts). */
import { defineCriterion } from './criterion';
import { rankBlocks } from './ranking';

export const blockInfluence = defineCriterion({
  id: 'block-influence',
  label: 'Block Influence',
  hint: '1 − cos(h_i, h_i+1) (ShortGPT)',
  color: '#2e9e6b',
  needsData: true,
  async run({ model, data, job }) {
    const { similarityScores } = await import('../similarity');
    const { ids, N, T } = data();
    const r = await similarityScores(model, ids, N, T, { ...job, maxWindow: model.numLayers - 1 });
    return { scores: r.blockInfluence, ranking: rankBlocks(r.blockInfluence), detail: {} };
  },
});
