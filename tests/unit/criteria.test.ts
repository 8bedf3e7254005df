// @vitest-environment jsdom
/**
 * The criteria registry read by the CLI and the page alike: every registered criterion selects
 * the same blocks through both, and both write a mask that validates under that criterion.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { CriterionResult } from '../../src/app/protocol';
import { maskFor, selection } from '../../src/cli/selection';
import { CRITERIA, CRITERION_IDS, criterion, type ScoredCriterion } from '../../src/prune/criteria/registry';
import { rankBlocks } from '../../src/prune/criteria/ranking';
import schema from '../../src/prune/mask-schema.json';
import { parseMask, serializeMask } from '../../src/prune/mask';
import { SEED_PROTECTED } from '../../src/prune/select';
import { buildCurrentMask } from '../../src/ui/mask-actions';
import { currentRecord, useLab } from '../../src/ui/store';
import { mulberry32 } from '../../src/util/random';
import { CALIBRATION, L, MODEL, resetStore } from './ui-fixtures';

const PROTECTED = new Set([0, 1, 2, 3, L - 2, L - 1]);

/**
 * A result shaped as the engine returns it, for any criterion: seeded scores (on odd seeds only
 * some unprotected blocks are scored, as after an iterative PPL run or an overflowed PPL), the
 * ranking they imply, and windows of every length (windows[n-1][l] = the score of blocks l..l+n-1).
 */
function syntheticResult(id: ScoredCriterion, seed: number): CriterionResult {
  const rand = mulberry32(seed);
  const partial = seed % 2 === 1;
  const scores = Array.from({ length: L }, (_, b) => (partial && (PROTECTED.has(b) || rand() < 0.4) ? null : rand()));
  const windows = Array.from({ length: L - 1 }, (_, n) => Array.from({ length: L - n }, (_, l) => (n === 0 ? (scores[l] ?? NaN) : rand())));
  return { criterion: id, scores, ranking: rankBlocks(scores), seconds: 1, detail: { windows } };
}

const reply = (r: CriterionResult) => ({ type: 'scored' as const, calibration: CALIBRATION, results: [r] });

describe('every registered criterion through the CLI and the page', () => {
  beforeEach(() => resetStore(false));

  for (const { id } of CRITERIA) {
    it(`${id}: the same removed set for k = 1..5 and masks that validate`, async () => {
      for (const seed of [1, 2, 3, 4]) {
        const r = syntheticResult(id, seed);
        for (let k = 1; k <= 5; k++) {
          // The CLI: `score --criterion <id> --out` and `prune --criterion <id>`.
          const cli = selection(r, k, SEED_PROTECTED, L);
          const cliMask = parseMask(serializeMask(maskFor(MODEL, reply(r), id, cli.removed, SEED_PROTECTED)), { numLayers: L, fingerprint: MODEL.fingerprint });

          // The page: scores merged into the store, "prune k" by the criterion, Download mask.
          resetStore(false);
          useLab.getState().mergeScores(CALIBRATION, [r]);
          useLab.getState().pruneBy(id, k);
          const ui = currentRecord(useLab.getState()).plan;
          const uiMask = parseMask(serializeMask(await buildCurrentMask()), { numLayers: L, fingerprint: MODEL.fingerprint });

          const at = `${id}, seed ${seed}, k = ${k}`;
          expect(cli.removed, at).toEqual(ui.removed);
          expect(cli.warning, at).toEqual(ui.warning);
          expect(cliMask.removed, at).toEqual(ui.removed);
          expect(uiMask.removed, at).toEqual(ui.removed);
          // Both masks keep the criterion: the selection is what the format checks for it.
          expect(cliMask.criterion.name, at).toBe(id);
          expect(uiMask.criterion.name, at).toBe(id);
          expect(cli.removed.some((b) => PROTECTED.has(b)), at).toBe(false);
          if (criterion(id).selection === 'contiguous') expect(cli.removed, at).toEqual(Array.from({ length: cli.removed.length }, (_, i) => cli.removed[0]! + i));
        }
      }
    });
  }
});

describe('the registry', () => {
  it('has unique ids, and the published mask schema lists exactly the registered criteria', () => {
    expect(new Set(CRITERION_IDS).size).toBe(CRITERIA.length);
    expect(schema.$defs.scoredCriterion.enum).toEqual([...CRITERION_IDS]);
    expect(schema.$defs.criterion.properties.name.enum).toEqual([...CRITERION_IDS, 'manual']);
  });

  it('ranks blocks without a finite score last, whatever the criterion', () => {
    expect(rankBlocks([2, NaN, null, -Infinity, 1, Infinity, 0])).toEqual([6, 4, 0, 1, 2, 3, 5]);
  });
});
