/**
 * Every registered criterion as the engine computes it on the embedded model (a tiny calibration
 * set), then selected through the CLI and the page for k = 1..5: the same blocks, valid masks.
 * tests/unit/criteria.test.ts does the same on seeded synthetic results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/app/lab';
import type { ModelInfo } from '../../src/app/protocol';
import { maskFor, selection } from '../../src/cli/selection';
import { acquireNodeDevice } from '../../src/node/dawn';
import { nodeHost } from '../../src/node/host';
import { CRITERION_IDS } from '../../src/prune/criteria/registry';
import { parseMask, serializeMask } from '../../src/prune/mask';
import { resolveProtected, SEED_PROTECTED } from '../../src/prune/select';
import { buildCurrentMask } from '../../src/ui/mask-actions';
import { currentRecord, DEFAULT_SETTINGS, useLab } from '../../src/ui/store';

let engine: LabEngine;
let info: ModelInfo;
beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('criteria-engine-test'), nodeHost);
  info = await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
});
afterAll(() => engine?.dispose());

describe('every registered criterion, computed by the engine', { timeout: 600_000 }, () => {
  it('selects the same blocks through the CLI and the page for k = 1..5, and both masks validate', async () => {
    const L = info.numLayers;
    const scored = await engine.handle({
      type: 'score', criteria: [...CRITERION_IDS], k: 5, protect: resolveProtected(SEED_PROTECTED, L),
      calibration: { text: { kind: 'embedded', name: 'calibration' }, n: 2, t: 16, seed: 1234, bos: 'first' },
    }, { signal: new AbortController().signal, progress: () => {} });
    expect(scored.results.map((r) => r.criterion)).toEqual([...CRITERION_IDS]);
    useLab.setState({ model: info, records: {}, settings: DEFAULT_SETTINGS, jobs: {}, errors: {}, maskMessage: null });
    useLab.getState().mergeScores(scored.calibration, scored.results);
    const expected = { numLayers: L, fingerprint: info.fingerprint, architecture: info.architecture };
    for (const r of scored.results) {
      expect(r.scores, r.criterion).toHaveLength(L);
      expect([...r.ranking].sort((a, b) => a - b), r.criterion).toEqual(Array.from({ length: L }, (_, i) => i));
      for (let k = 1; k <= 5; k++) {
        const at = `${r.criterion}, k = ${k}`;
        const cli = selection(r, k, SEED_PROTECTED, L);
        const cliMask = parseMask(serializeMask(maskFor(info, scored, r.criterion, cli.removed, SEED_PROTECTED)), expected);
        useLab.getState().pruneBy(r.criterion, k);
        const ui = currentRecord(useLab.getState()).plan;
        const uiMask = parseMask(serializeMask(await buildCurrentMask()), expected);
        expect(cli.removed, at).toHaveLength(k);
        expect(cli.removed, at).toEqual(ui.removed);
        expect(cliMask.removed, at).toEqual(ui.removed);
        expect(uiMask.removed, at).toEqual(ui.removed);
        expect([cliMask.criterion.name, uiMask.criterion.name], at).toEqual([r.criterion, r.criterion]);
      }
    }
  });
});
