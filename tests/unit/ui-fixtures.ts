/** A fake 16-block model and scores for the UI tests (no GPU, no worker). */
import type { CriterionResult, ModelInfo } from '../../src/app/protocol';
import { rankBlocks } from '../../src/prune/criteria/ranking';
import { DEFAULT_SETTINGS, useLab } from '../../src/ui/store';

export const L = 16;
export const MODEL: ModelInfo = {
  name: 'kjv-tiny-llama',
  source: { kind: 'embedded', name: 'kjv-tiny-llama' },
  architecture: 'LlamaForCausalLM',
  numLayers: L,
  hiddenSize: 128,
  intermediateSize: 384,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 32,
  vocabSize: 2048,
  maxPositionEmbeddings: 512,
  parameters: 3_000_000,
  blockParameters: 150_000,
  bytesOnGpu: 12_000_000,
  fingerprint: 'ab'.repeat(32),
  fallbacks: [],
  bosId: 1,
  eosIds: [2],
};

export const PPL_SCORES = [900, 60, 44, 41, 38.5, 37.2, 36.3, 35.9, 35.5, 35.7, 36.0, 36.6, 37.1, 38.4, 41.9, 96.3];
export const TAYLOR_SCORES = [0.84, 0.33, 0.23, 0.2, 0.15, 0.13, 0.09, 0.085, 0.073, 0.08, 0.095, 0.11, 0.12, 0.14, 0.19, 0.41];

export const result = (criterion: CriterionResult['criterion'], scores: number[]): CriterionResult => ({
  criterion, scores, ranking: rankBlocks(scores), seconds: 1, detail: {},
});

export const CALIBRATION = { textSha256: 'cd'.repeat(32), description: 'embedded:kjv-calib.txt', n: 2, t: 32, seed: 1234, bos: 'first' as const };

/** A fresh store with the fake model loaded and (optionally) PPL + Taylor scores. */
export function resetStore(withScores = true): void {
  useLab.setState({ model: MODEL, records: {}, settings: DEFAULT_SETTINGS, jobs: {}, errors: {}, maskMessage: null, gpu: { state: 'starting' } });
  if (withScores) useLab.getState().mergeScores(CALIBRATION, [result('ppl', PPL_SCORES), result('taylor', TAYLOR_SCORES)]);
}
