import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SpeedResult } from '../../src/eval/speed';
import type { ArgsOf, EngineRequest } from '../../src/app/protocol';
import { restartGpu, runBenchmark } from '../../src/ui/lab-actions';
import { currentRecord, keptBlocks, planKey, useLab } from '../../src/ui/store';
import { L, resetStore } from './ui-fixtures';

// The worker replaced by a fake that answers benchmark requests and records them.
const requests: EngineRequest[] = [];
vi.mock('../../src/browser/worker-client', () => ({
  EngineError: class extends Error {},
  EngineClient: class {
    private next = 1;
    onEvent(): void {}
    cancel(): void {}
    init() {
      requests.push({ type: 'init' });
      return Promise.resolve({ type: 'ready', adapter: { description: 'fake' } });
    }
    benchmark(args: ArgsOf<'benchmark'>) {
      requests.push({ type: 'benchmark', ...args });
      const results = args.plans.map((plan, i): Partial<SpeedResult> => ({ plan, blocks: plan.length, decodeTokensPerS: 100 + requests.length * 10 + i, weightBytesPerToken: plan.length }));
      return { id: this.next++, result: Promise.resolve({ type: 'benchmarked', results }) };
    }
  },
}));

describe('the Speed panel\'s benchmark', () => {
  beforeEach(() => {
    requests.length = 0;
    resetStore();
    useLab.getState().updateSettings({ sweepStep: 0 });
  });

  it('measures the original again with every changed plan, so each speedup comes from one run', async () => {
    const full = keptBlocks(L, []);
    await runBenchmark();
    useLab.getState().toggleBlock(7);
    await runBenchmark();
    const pruned = keptBlocks(L, [7]);
    expect(requests.map((r) => (r.type === 'benchmark' ? r.plans.map(planKey) : []))).toEqual([[planKey(full)], [planKey(full), planKey(pruned)]]);
    // The shown results are those of the last run only.
    const results = currentRecord(useLab.getState()).speed!.results;
    expect(Object.keys(results).sort()).toEqual([planKey(full), planKey(pruned)].sort());
    expect(results[planKey(full)]!.decodeTokensPerS).toBe(120);
  });

  it('adds the sweep of k = step, 2 step, ... by the chosen criterion, and none for step 0', async () => {
    useLab.getState().updateSettings({ sweepStep: 4 });
    await runBenchmark();
    const sweep = currentRecord(useLab.getState()).speed!.sweep;
    expect(sweep.map((x) => x.k)).toEqual([4, 8]);
    expect(requests[0]!.type === 'benchmark' && requests[0]!.plans.map((p) => p.length)).toEqual([16, 12, 8]);
  });
});

describe('restarting the GPU after a loss', () => {
  beforeEach(() => {
    requests.length = 0;
    resetStore();
  });

  it('asks for a picked folder again instead of loading another model in its place', async () => {
    useLab.setState({ model: null, source: { kind: 'local', name: 'my-llama' } });
    await restartGpu();
    expect(requests.map((r) => r.type)).toEqual(['init']);
    expect(useLab.getState().loadError).toMatch(/Pick the folder of my-llama again/);
    expect(useLab.getState().source).toEqual({ kind: 'local', name: 'my-llama' });
  });
});
