/**
 * The frontier sweep on the embedded model (few windows): every point's perplexity is the plain
 * perplexity job's (what `ppl --mask` runs) for the same plan, the plans are the Blocks panel's
 * selection for each k, the residual prefix saves block runs, and known plans are not evaluated again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/app/lab';
import type { ModelInfo, ReplyOf } from '../../src/app/protocol';
import { sweepRows, type SweepCriterion } from '../../src/app/sweep';
import { acquireNodeDevice } from '../../src/node/dawn';
import { nodeHost } from '../../src/node/host';
import { defaultSweepK } from '../../src/prune/criteria/sweep-plans';
import { resolveProtected, SEED_PROTECTED } from '../../src/prune/select';
import { currentRecord, DEFAULT_SETTINGS, useLab } from '../../src/ui/store';

const ctx = () => ({ signal: new AbortController().signal, progress: () => {} });
const text = { kind: 'embedded', name: 'heldout' } as const;
// 10 windows of 32 tokens: one batch of 8 and a shorter one of 2, as perplexity batches them.
const protocol = { text, window: 32, bos: 'first', maxWindows: 10 } as const;

let engine: LabEngine;
let info: ModelInfo;
let scored: ReplyOf<'score'>;
beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('sweep-test'), nodeHost);
  info = await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
  scored = await engine.handle({
    type: 'score', criteria: ['ppl', 'magnitude', 'angular', 'iterative-ppl'], k: 3, protect: resolveProtected(SEED_PROTECTED, info.numLayers),
    calibration: { text: { kind: 'embedded', name: 'calibration' }, n: 2, t: 16, seed: 1234, bos: 'first' },
  }, ctx());
}, 600_000);
afterAll(() => engine?.dispose());

const criteria = (): SweepCriterion[] => scored.results.map((r) => ({
  criterion: r.criterion, scores: r.scores, ...(Array.isArray(r.detail.windows) ? { windows: r.detail.windows as number[][] } : {}),
}));

describe('the frontier sweep', { timeout: 600_000 }, () => {
  it('evaluates the Blocks panel plan of every criterion for k = 0..K, each as the plain perplexity job does', async () => {
    const L = info.numLayers;
    const { sweep } = await engine.handle({ type: 'sweep', criteria: criteria(), protect: SEED_PROTECTED, ...protocol }, ctx());
    expect(sweep.maxK).toBe(defaultSweepK(L, SEED_PROTECTED));
    expect(sweep.windows).toBe(10);

    // Plans: the page's selection (the store's pruneBy, as the Blocks panel applies it).
    useLab.setState({ model: info, records: {}, settings: DEFAULT_SETTINGS, jobs: {}, errors: {}, maskMessage: null });
    useLab.getState().mergeScores(scored.calibration, scored.results);
    for (const line of sweep.lines) {
      // Iterative PPL ranks only the k = 3 blocks it was scored for: its line stops there.
      expect(line.points.length - 1, line.criterion).toBe(line.criterion === 'iterative-ppl' ? 3 : sweep.maxK);
      expect(line.points[0]!.removed).toEqual([]);
      for (const pt of line.points.slice(1)) {
        useLab.getState().pruneBy(line.criterion, pt.k);
        expect(pt.removed, `${line.criterion} k = ${pt.k}`).toEqual(currentRecord(useLab.getState()).plan.removed);
      }
    }
    // Each distinct plan once; shared ones (every k = 0, and whatever criteria agree on) evaluated once.
    const keys = sweep.plans.map((p) => p.removed.join(','));
    expect(new Set(keys).size).toBe(keys.length);
    expect(sweep.plans.length).toBeLessThan(sweep.lines.reduce((s, l) => s + l.points.length, 0));

    const plain = await engine.handle({ type: 'perplexity', plans: sweep.plans.map((p) => p.kept), ...protocol }, ctx());
    sweep.plans.forEach((p, i) => {
      expect(p.ppl, p.removed.join(',')).toEqual(plain.results[i]);
      expect(p.cached).toBe(false);
    });
    expect(sweep.textSha256).toBe(plain.textSha256);
    // Dense point: no speedup; each removed block adds about 1/L of the weights' reads.
    const dense = sweep.plans.find((p) => p.removed.length === 0)!;
    expect(dense.idealSpeedup).toBe(1);
    for (const p of sweep.plans) for (const q of sweep.plans) if (p.removed.length > q.removed.length) expect(p.idealSpeedup).toBeGreaterThan(q.idealSpeedup);

    // Residual reuse: two batches, each plan's blocks counted as a plain evaluation would run them.
    const naive = 2 * sweep.plans.reduce((s, p) => s + p.kept.length, 0);
    expect(sweep.blockRunsWithoutReuse).toBe(naive);
    expect(sweep.blockRuns).toBeLessThan(naive);
    expect(sweepRows(sweep)).toHaveLength(sweep.lines.reduce((s, l) => s + l.points.length, 0));

    // Known plans come back as they were, with no block run.
    const again = await engine.handle({
      type: 'sweep', criteria: criteria(), protect: SEED_PROTECTED, ...protocol, known: sweep.plans.map((p) => ({ kept: p.kept, result: p.ppl })),
    }, ctx());
    expect(again.sweep.blockRuns).toBe(0);
    expect(again.sweep.plans.every((p) => p.cached)).toBe(true);
    expect(again.sweep.plans.map((p) => p.ppl)).toEqual(sweep.plans.map((p) => p.ppl));
  });
});
