import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weightBytes } from '../../src/quant/formats';
import { measureSpeeds } from '../../src/eval/speed';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { loadTestModel } from '../helpers/models';

let model: LlamaModel;
beforeAll(async () => {
  model = await loadTestModel();
});
afterAll(() => model?.dispose());

describe('speed measurement', { timeout: 300_000 }, () => {
  it('runs the plans round-robin and reports each plan\'s own figures and weight bytes', async () => {
    const full = model.fullPlan();
    const pruned = planWithout(model.numLayers, [5, 9]);
    const steps: string[] = [];
    const results = await measureSpeeds(model, [full, pruned], { promptTokens: 4, newTokens: 3, warmup: 1, runs: 2 }, {
      onProgress: (done, total, what) => steps.push(`${done}/${total} ${what}`),
    });
    // Warm-ups first, then every timed run alternates between the plans (drift weighs on both alike).
    expect(steps).toEqual([
      '1/6 16 blocks: warm-up 1 of 1', '2/6 14 blocks: warm-up 1 of 1',
      '3/6 16 blocks: timed run 1 of 2', '4/6 14 blocks: timed run 1 of 2',
      '5/6 16 blocks: timed run 2 of 2', '6/6 14 blocks: timed run 2 of 2',
    ]);
    expect(results.map((r) => r.plan)).toEqual([full, pruned]);
    for (const r of results) {
      expect(r.decodeTokensPerS).toBeGreaterThan(0);
      // The headline is the total over the runs: the harmonic mean of the per-run rates.
      expect(r.decodeRunsTokensPerS).toHaveLength(2);
      const harmonic = 2 / r.decodeRunsTokensPerS.reduce((s, v) => s + 1 / v, 0);
      expect(Math.abs(harmonic - r.decodeTokensPerS) / r.decodeTokensPerS).toBeLessThan(1e-9);
      expect(r.prefillTokensPerS).toBeGreaterThan(0);
      expect(r.wall.decodeTokensPerS).toBeGreaterThan(0);
    }
    // The two removed blocks' tensors, counted from the checkpoint's names.
    const removedBytes = [...model.checkpoint.tensors].filter(([name]) => /\.layers\.(5|9)\./.test(name))
      .reduce((s, [, t]) => s + weightBytes(t.dtype, t.shape), 0);
    expect(removedBytes).toBeGreaterThan(0);
    expect(results[0]!.weightBytesPerToken - results[1]!.weightBytesPerToken).toBe(removedBytes);
  });

  it('stops between runs when cancelled', async () => {
    const ctl = new AbortController();
    const run = measureSpeeds(model, [model.fullPlan()], { promptTokens: 4, newTokens: 3, warmup: 1, runs: 5 }, {
      signal: ctl.signal, onProgress: (done) => done === 2 && ctl.abort(),
    });
    await expect(run).rejects.toThrow(/cancel/i);
  });
});
