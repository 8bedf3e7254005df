/** The Frontier panel's data path without a GPU: the sweep action and its cache, the chart's lines and picks, the mask's metrics.sweep. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ArgsOf, EngineRequest } from '../../src/app/protocol';
import type { SweepResult } from '../../src/app/sweep';
import { planWithout } from '../../src/model/plan';
import { sweepLines } from '../../src/prune/criteria/sweep-plans';
import { parseMask, serializeMask } from '../../src/prune/mask';
import { frontierData, nearestLine, pointOf } from '../../src/ui/frontier-points';
import { runSweep } from '../../src/ui/lab-actions';
import { buildCurrentMask } from '../../src/ui/mask-actions';
import { currentRecord, useLab } from '../../src/ui/store';
import { L, resetStore } from './ui-fixtures';

// The worker replaced by a fake that answers sweep requests with the registry's plans and a made-up PPL per plan.
const requests: EngineRequest[] = [];
const fakePpl = (removed: number[]) => 30 + removed.reduce((s, b) => s + b, 0);
vi.mock('../../src/browser/worker-client', () => ({
  EngineError: class extends Error {},
  EngineClient: class {
    onEvent(): void {}
    cancel(): void {}
    sweep(args: ArgsOf<'sweep'>) {
      requests.push({ type: 'sweep', ...args });
      const lines = sweepLines(args.criteria, args.protect, L, args.maxK);
      const seen = new Map<string, number[]>();
      for (const l of lines) for (const p of l.points) seen.set(p.removed.join(','), p.removed);
      const known = new Set((args.known ?? []).map((k) => k.kept.join(',')));
      const plans = [...seen.values()].map((removed) => {
        const kept = planWithout(L, removed);
        const ppl = fakePpl(removed);
        return { kept, removed, ppl: { ppl, nll: Math.log(ppl), windows: 4, predictions: 508 }, idealSpeedup: L / kept.length, cached: known.has(kept.join(',')) };
      });
      const sweep: SweepResult = {
        textName: 'embedded:kjv-heldout.txt', textSha256: 'ef'.repeat(32), window: args.window, bos: args.bos, windows: 4, protect: args.protect,
        maxK: 6, lines, plans, blockRuns: 10, blockRunsWithoutReuse: 20, seconds: 1,
      };
      return { id: requests.length, result: Promise.resolve({ type: 'swept', sweep }) };
    }
  },
}));

beforeEach(() => {
  requests.length = 0;
  resetStore();
});

describe('the Frontier panel', () => {
  it('sweeps every computed criterion, then sends the plans it holds as known until the protocol changes', async () => {
    await runSweep();
    const first = requests[0] as Extract<EngineRequest, { type: 'sweep' }>;
    expect(first.criteria.map((c) => c.criterion)).toEqual(['ppl', 'taylor']);
    expect(first.known).toEqual([]);
    const rec = currentRecord(useLab.getState()).frontier!;
    expect(Object.keys(rec.cache)).toHaveLength(rec.sweep.plans.length);
    await runSweep();
    const second = requests[1] as Extract<EngineRequest, { type: 'sweep' }>;
    expect(second.known!.map((k) => k.kept.join(',')).sort()).toEqual(rec.sweep.plans.map((p) => p.kept.join(',')).sort());
    useLab.getState().updateSettings({ frontierWindows: 5 });
    await runSweep();
    expect((requests[2] as Extract<EngineRequest, { type: 'sweep' }>).known).toEqual([]);
  });

  it('draws one line per criterion from the dense origin, marks the current plan, and picks the nearest line', async () => {
    await runSweep();
    const sweep = currentRecord(useLab.getState()).frontier!.sweep;
    for (const axis of ['speedup', 'removed'] as const) {
      const data = frontierData(sweep, axis);
      expect(data.xs).toEqual([...data.xs].sort((a, b) => a - b));
      expect(data.xs[0]).toBe(axis === 'speedup' ? 1 : 0);
      expect(data.lines.map((l) => l.criterion)).toEqual(['ppl', 'taylor']);
      for (const l of data.lines) {
        expect(l.removed[0]).toEqual([]);
        expect(l.ppl[0]).toBe(30);
        l.removed.forEach((r, i) => r && expect(l.ppl[i]).toBe(fakePpl(r)));
      }
    }
    const data = frontierData(sweep, 'removed');
    // At k = 4 the fixtures' PPL and Taylor pick different blocks.
    const ppl4 = data.lines[0]!.removed[4]!;
    const taylor4 = data.lines[1]!.removed[4]!;
    expect(ppl4).not.toEqual(taylor4);
    expect(nearestLine(data, 4, fakePpl(taylor4))!.criterion).toBe('taylor');
    expect(nearestLine(data, 4, fakePpl(ppl4))!.criterion).toBe('ppl');
    expect(pointOf(sweep, data, 'removed', [])).toEqual({ index: 0, ppl: 30 });
    useLab.getState().pruneBy('taylor', 4);
    expect(pointOf(sweep, data, 'removed', currentRecord(useLab.getState()).plan.removed)).toEqual({ index: 4, ppl: fakePpl(taylor4) });
    expect(pointOf(sweep, data, 'removed', [4, 5, 6, 7, 8, 9, 10])).toBeNull();
  });

  it('writes the sweep into the mask as metrics.sweep, which the schema accepts', async () => {
    await runSweep();
    const sweep = currentRecord(useLab.getState()).frontier!.sweep;
    const mask = parseMask(serializeMask(await buildCurrentMask()), { numLayers: L });
    expect(mask.metrics?.sweep?.windows).toBe(4);
    expect(mask.metrics?.sweep?.points).toHaveLength(sweep.lines.reduce((s, l) => s + l.points.length, 0));
    expect(mask.metrics?.sweep?.points[1]).toMatchObject({ criterion: 'ppl', k: 1, removed: sweep.lines[0]!.points[1]!.removed });
    expect(() => parseMask(serializeMask({ ...mask, metrics: { sweep: { ...mask.metrics!.sweep!, points: [{ criterion: 'nonsense', k: 1, removed: [], ppl: 1, ideal_speedup: 1 }] } } } as never))).toThrow();
  });
});
