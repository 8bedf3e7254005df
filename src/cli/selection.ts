/**
 * What `score --out` and `prune --criterion` remove and write: the registry's selection (as the
 * page selects) and the mask of a scoring reply.
 */
import type { CriterionResult, EngineReply, ModelInfo } from '../app/protocol';
import { criterion as criterionById, type ScoredCriterion } from '../prune/criteria/registry';
import { selectByCriterion, type BlockSelection } from '../prune/criteria/selection';
import { buildMask, type PruningMask } from '../prune/mask';
import { resolveProtected } from '../prune/select';

/** The one-shot selection of a criterion result by the criterion's own rule (angular: its best contiguous window). */
export function selection(result: CriterionResult, k: number, protect: readonly number[], numLayers: number): BlockSelection {
  const windows = Array.isArray(result.detail.windows) ? (result.detail.windows as number[][]) : undefined;
  return selectByCriterion(criterionById(result.criterion), { scores: result.scores, windows }, k, protect, numLayers);
}

/** The mask of `removed` chosen by `criterion`, carrying every score of the reply; the calibration when any of them read data. */
export function maskFor(info: ModelInfo, scored: Extract<EngineReply, { type: 'scored' }>, criterion: ScoredCriterion, removed: readonly number[], protect: readonly number[]): PruningMask {
  const main = scored.results.find((r) => r.criterion === criterion)!;
  const usesData = scored.results.some((r) => criterionById(r.criterion).needsData);
  return buildMask({
    model: { source: info.source, architecture: info.architecture, num_hidden_layers: info.numLayers, fingerprint: info.fingerprint },
    criterion: { name: criterion, calibration: usesData ? scored.calibration : null, protected_blocks: resolveProtected(protect, info.numLayers), weight_format: info.weightFormat },
    scores: Object.fromEntries(scored.results.map((r) => [r.criterion, r.scores])),
    ranking: main.ranking,
    removed,
  });
}
