// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from 'vitest';
import { blocksForRatio, selectBlocks, SEED_PROTECTED } from '../../src/prune/select';
import { speedPoints } from '../../src/ui/speed-points';
import { currentRecord, kFor, parseProtect, protectedBlocks, selectByCriterion, settledRecords, useLab } from '../../src/ui/store';
import { CALIBRATION, L, MODEL, PPL_SCORES, resetStore, result, TAYLOR_SCORES } from './ui-fixtures';

const plan = () => currentRecord(useLab.getState()).plan;

describe('UI store: the plan', () => {
  beforeEach(() => resetStore());

  it('toggles blocks by hand (criterion becomes manual) and never removes the last block', () => {
    useLab.getState().toggleBlock(7);
    useLab.getState().toggleBlock(3);
    expect(plan()).toMatchObject({ removed: [3, 7], criterion: 'manual' });
    useLab.getState().toggleBlock(7);
    expect(plan().removed).toEqual([3]);
    for (let b = 0; b < L; b++) if (b !== 3) useLab.getState().toggleBlock(b);
    expect(plan().removed).toHaveLength(L - 1);
    expect(plan().removed).not.toContain(15); // the last toggle was refused: one block stays
    useLab.getState().toggleBlock(15);
    expect(plan().removed).toHaveLength(L - 1);
  });

  it('prune k by a criterion equals selectBlocks with the protected set', () => {
    for (const k of [0, 1, 3, 6, 10]) {
      useLab.getState().pruneBy('ppl', k);
      expect(plan().removed).toEqual(selectBlocks(PPL_SCORES, k, SEED_PROTECTED).removed);
      expect(plan().criterion).toBe('ppl');
      useLab.getState().pruneBy('taylor', k);
      expect(plan().removed).toEqual(selectBlocks(TAYLOR_SCORES, k, SEED_PROTECTED).removed);
    }
    // 20% of 16 -> 3 blocks, as blocksForRatio.
    expect(kFor({ pruneMode: 'ratio', pruneRatio: 0.2, pruneK: 0 }, L)).toBe(blocksForRatio(0.2, L));
  });

  it('honours an edited protected set and shows the selection warning', () => {
    useLab.getState().updateSettings({ protectText: '0-13' });
    useLab.getState().pruneBy('ppl', 4);
    const expected = selectBlocks(PPL_SCORES, 4, protectedBlocks('0-13', L));
    expect(plan().removed).toEqual(expected.removed);
    expect(plan().warning).toBe(expected.warning);
    expect(plan().warning).toMatch(/fewer than the 4 requested/);
  });

  it('undo and redo walk the plan history; a new edit clears redo', () => {
    useLab.getState().pruneBy('ppl', 3);
    const pruned = plan().removed;
    useLab.getState().toggleBlock(9);
    const edited = plan().removed;
    useLab.getState().undo();
    expect(plan().removed).toEqual(pruned);
    useLab.getState().undo();
    expect(plan().removed).toEqual([]);
    useLab.getState().undo();
    expect(plan().removed).toEqual([]);
    useLab.getState().redo();
    useLab.getState().redo();
    expect(plan().removed).toEqual(edited);
    useLab.getState().undo();
    useLab.getState().toggleBlock(12);
    expect(currentRecord(useLab.getState()).future).toEqual([]);
  });

  it('keeps one record per model fingerprint', () => {
    useLab.getState().pruneBy('ppl', 2);
    const other = { ...useLab.getState().model!, fingerprint: 'ef'.repeat(32) };
    useLab.getState().setModel(other);
    expect(plan().removed).toEqual([]);
    expect(currentRecord(useLab.getState()).scores).toBeNull();
  });

  it('keeps one record per weight format of a model; records saved before formats are the stored-format ones', () => {
    useLab.getState().pruneBy('ppl', 2);
    const stored = plan().removed;
    // A record saved before formats existed sits under the bare fingerprint (the float load's key).
    expect(Object.keys(useLab.getState().records)).toEqual([MODEL.fingerprint]);
    useLab.getState().setModel({ ...MODEL, weightFormat: 'q4' });
    expect(currentRecord(useLab.getState()).scores).toBeNull();
    expect(plan().removed).toEqual([]);
    useLab.getState().mergeScores(CALIBRATION, [result('ppl', [...PPL_SCORES].reverse())]);
    useLab.getState().toggleBlock(9);
    useLab.getState().setModel({ ...MODEL, weightFormat: 'q8' });
    expect(currentRecord(useLab.getState()).scores).toBeNull();
    useLab.getState().setModel({ ...MODEL, weightFormat: 'float' });
    expect(plan().removed).toEqual(stored);
    expect(currentRecord(useLab.getState()).scores!.results.ppl!.scores).toEqual(PPL_SCORES);
    useLab.getState().setModel({ ...MODEL, weightFormat: 'q4' });
    expect(plan().removed).toEqual([9]);
    expect(currentRecord(useLab.getState()).scores!.results.ppl!.scores).toEqual([...PPL_SCORES].reverse());
  });
});

describe('UI store: scores', () => {
  beforeEach(() => resetStore(false));

  it('merges scores of one calibration set and replaces data-based ones of another', () => {
    useLab.getState().mergeScores(null, [result('magnitude', PPL_SCORES)]);
    useLab.getState().mergeScores(CALIBRATION, [result('ppl', PPL_SCORES)]);
    useLab.getState().mergeScores(CALIBRATION, [result('taylor', TAYLOR_SCORES)]);
    expect(Object.keys(currentRecord(useLab.getState()).scores!.results).sort()).toEqual(['magnitude', 'ppl', 'taylor']);
    useLab.getState().mergeScores({ ...CALIBRATION, seed: 7 }, [result('taylor', TAYLOR_SCORES)]);
    expect(Object.keys(currentRecord(useLab.getState()).scores!.results).sort()).toEqual(['magnitude', 'taylor']);
    expect(currentRecord(useLab.getState()).scores!.calibration!.seed).toBe(7);
  });

  it('angular selection removes the contiguous window with the smallest distance', () => {
    const windows = [Array(16).fill(0.5), Array(15).fill(0.5)];
    windows[1]![9] = 0.1; // blocks 9, 10
    windows[1]![1] = 0.01; // blocks 1, 2: protected
    const r = { criterion: 'angular' as const, scores: windows[0]!, ranking: [], seconds: 0, windows };
    expect(selectByCriterion(r, 2, SEED_PROTECTED, L).removed).toEqual([9, 10]);
    // No windows of 3 among these (older) scores: per-block selection, and it says so.
    const three = selectByCriterion(r, 3, SEED_PROTECTED, L);
    expect(three.removed).toHaveLength(3);
    expect(three.warning).toMatch(/windows of 3 blocks were not computed/);
  });

  it('removes only the blocks an iterative PPL run scored, and says so, when k is larger', () => {
    const scores = Array<number | null>(16).fill(null);
    scores[7] = 40;
    scores[9] = 41; // a run with k = 2
    const r = { criterion: 'iterative-ppl' as const, scores, ranking: [], seconds: 0 };
    expect(selectByCriterion(r, 2, SEED_PROTECTED, L)).toMatchObject({ removed: [7, 9] });
    const more = selectByCriterion(r, 4, SEED_PROTECTED, L);
    expect(more.removed).toEqual([7, 9]);
    expect(more.warning).toMatch(/scored 2 unprotected blocks/);
  });

  it('parses protected sets', () => {
    expect(parseProtect('0,1,2,3,-2,-1')).toEqual([0, 1, 2, 3, -2, -1]);
    expect(protectedBlocks('0,1,2,3,-2,-1', L)).toEqual([0, 1, 2, 3, 14, 15]);
    expect(() => parseProtect('0,x')).toThrow(/not a block index/);
  });
});

describe('speed points', () => {
  const r = (blocks: number, decode: number, bytes: number) => ({
    plan: Array.from({ length: blocks }, (_, i) => i), blocks, prefillTokensPerS: 1, decodeTokensPerS: decode, tokensPerS: 1, msPerDecodeToken: 1, decodeRunsTokensPerS: [decode], hostMsPerDecodeToken: 0.1, dispatchesPerDecodeStep: 100, hostUsPerDispatch: 1,
    timing: 'wall clock' as const, wall: { prefillTokensPerS: 1, decodeTokensPerS: decode },
    weightBytesPerToken: bytes, adapter: 'test', options: { promptTokens: 8, newTokens: 8, warmup: 0, runs: 1 },
  });
  it('gives measured and ideal speedup against blocks removed, one point per count', () => {
    const results = { full: r(16, 10, 1600), a: r(12, 12, 1200), b: r(8, 18, 800) };
    expect(speedPoints(results, 16, 'full')).toEqual([
      { removed: 0, measured: 1, ideal: 1, decode: 10 },
      { removed: 4, measured: 1.2, ideal: 1600 / 1200, decode: 12 },
      { removed: 8, measured: 1.8, ideal: 2, decode: 18 },
    ]);
    expect(speedPoints(results, 16, 'missing')).toEqual([]);
    // Another plan removing 4 blocks (the current one): the sweep's plan keeps its place on the line.
    const more = { ...results, current: r(12, 11, 1200) };
    expect(speedPoints(more, 16, 'full', ['a', 'b'])[1]!.decode).toBe(12);
    expect(speedPoints(more, 16, 'full', ['current'])[1]!.decode).toBe(11);
    // The current plan at a count the sweep skips: a marker off the line, which joins the sweep's points only.
    const between = { ...results, current: r(10, 19, 1000) };
    const points = speedPoints(between, 16, 'full', ['a', 'b']);
    expect(points.map((p) => [p.removed, p.offLine ?? false])).toEqual([[0, false], [4, false], [6, true], [8, false]]);
  });
});

describe('UI store: generation panes after a reload or a lost device', () => {
  beforeEach(() => resetStore());

  it('settledRecords marks a pane left running as interrupted and keeps finished ones', () => {
    const pane = { text: 'x', tokens: 1, tokPerS: 5, plan: [0, 1] };
    useLab.getState().updateRecord((r) => ({ ...r, generation: { prompt: 'p', original: { ...pane, running: false }, pruned: { ...pane, running: true } } }));
    const gen = settledRecords(useLab.getState().records)[MODEL.fingerprint]!.generation!;
    expect(gen.original).toEqual({ ...pane, running: false });
    expect(gen.pruned).toEqual({ ...pane, running: false, error: 'interrupted' });
  });
});
