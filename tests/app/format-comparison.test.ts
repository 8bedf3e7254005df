/**
 * The weight-format comparison through the engine on the embedded model: each format is really loaded
 * (its GPU bytes are the memory plan's), the pruned plan reads fewer bytes per step in every format, a
 * comparison that would not fit is refused before anything is read, a cancelled one stops, and the
 * user's model stays loaded and untouched throughout. Tiny runs: speed figures are not checked here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/app/lab';
import type { FormatComparison } from '../../src/eval/format-comparison';
import { ratioToFloat } from '../../src/eval/format-comparison';
import { GpuMemoryError } from '../../src/io/errors';
import { memoryPlan } from '../../src/quant/memory-plan';
import { acquireNodeDevice } from '../../src/node/dawn';
import { nodeHost } from '../../src/node/host';

const embedded = { kind: 'embedded', name: 'kjv-tiny-llama' } as const;
const ctx = (signal = new AbortController().signal, progress: (e: { what: string }) => void = () => {}) => ({ signal, progress });
const options = { promptTokens: 4, newTokens: 3, warmup: 0, runs: 1 };
let engine: LabEngine;

beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('format-comparison-test'), nodeHost);
  await engine.load(embedded, new AbortController().signal, () => {}, { format: 'q8' });
});
afterAll(() => engine?.dispose());

/** Greedy continuation of the loaded model: the same text means the same weights. */
async function greedy(): Promise<string> {
  const r = await engine.handle({ type: 'generate', prompt: 'In the beginning', plan: engine.model!.fullPlan(), maxNewTokens: 4, sampling: { temperature: 0 }, seed: 1 }, ctx());
  if (r.type !== 'generated') throw new Error(r.type);
  return r.text;
}

describe('comparing weight formats of the loaded model', { timeout: 300_000 }, () => {
  it('loads each format beside the loaded model, measures full and pruned, and leaves the loaded model as it was', async () => {
    const model = engine.model!;
    const info = engine.loaded().info;
    const before = await greedy();
    const fits = await engine.handle({ type: 'compare-plan', options }, ctx());
    if (fits.type !== 'compare-planned') throw new Error(fits.type);
    expect(fits.fits.map((f) => [f.format, f.fits, !!f.loaded])).toEqual([['float', true, false], ['q8', true, true], ['q4', true, false]]);

    const full = model.fullPlan();
    const pruned = full.filter((b) => ![5, 8, 11].includes(b));
    const r = await engine.handle({ type: 'compare-formats', formats: ['q4', 'float', 'q8'], plans: [full, pruned], options }, ctx());
    if (r.type !== 'compared') throw new Error(r.type);
    const c: FormatComparison = r.comparison;
    expect(c.formats.map((f) => [f.format, f.loaded, f.error])).toEqual([['float', false, undefined], ['q8', true, undefined], ['q4', false, undefined]]);
    // Each copy holds what the memory plan says its format takes: the format was really loaded.
    const plan = memoryPlan(model.config, engine.rt.device.limits);
    for (const f of c.formats) expect(f.bytesOnGpu).toBe(plan.formats.find((p) => p.format === f.format)!.weights);
    const [float, q8, q4] = c.formats;
    expect(q4!.bytesOnGpu).toBeLessThan(q8!.bytesOnGpu);
    expect(q8!.bytesOnGpu).toBeLessThan(float!.bytesOnGpu);
    for (const f of c.formats) {
      expect(f.results.map((x) => x.blocks)).toEqual([16, 13]);
      expect(f.results[1]!.weightBytesPerToken).toBeLessThan(f.results[0]!.weightBytesPerToken);
      expect(f.results.every((x) => x.decodeTokensPerS > 0 && x.prefillTokensPerS > 0)).toBe(true);
    }
    expect(q4!.results[0]!.weightBytesPerToken).toBeLessThan(q8!.results[0]!.weightBytesPerToken);
    expect(q8!.results[0]!.weightBytesPerToken).toBeLessThan(float!.results[0]!.weightBytesPerToken);
    expect(ratioToFloat(c, float!, 0)).toMatchObject({ speed: 1, bytes: 1, ofBytes: 1 });
    const q4Ratio = ratioToFloat(c, q4!, 1)!;
    expect(q4Ratio.bytes).toBeCloseTo(float!.results[1]!.weightBytesPerToken / q4!.results[1]!.weightBytesPerToken, 12);
    expect(q4Ratio.ofBytes).toBeCloseTo(q4Ratio.speed / q4Ratio.bytes, 12);

    // The user's model: the same object, format and bytes, and it computes what it did.
    expect(engine.model).toBe(model);
    expect(engine.loaded().info).toEqual(info);
    expect(engine.loaded().info.bytesOnGpu).toBe(q8!.bytesOnGpu);
    expect(await greedy()).toBe(before);
  });

  it('refuses up front a format that would not fit beside the loaded model, and stops when cancelled', async () => {
    const model = engine.model!;
    // A KV cache for 2M tokens beside the loaded model is over the budget; the loaded format alone needs no copy.
    const huge = { ...options, newTokens: 2_000_000 };
    const error = await engine.handle({ type: 'compare-formats', formats: ['float', 'q8'], plans: [model.fullPlan()], options: huge }, ctx()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuMemoryError);
    expect((error as Error).message).toMatch(/cannot load float \(needs .* GiB beside the loaded model's .* GiB, over the .* GiB budget\).*nothing was measured/);
    const abort = new AbortController();
    const cancelled = engine.handle({ type: 'compare-formats', formats: ['float', 'q8'], plans: [model.fullPlan()], options }, ctx(abort.signal, (e) => {
      if (e.what.startsWith('float: loading')) abort.abort();
    })).catch((e: unknown) => e);
    expect((await cancelled as Error).name).toMatch(/CancelledError/);
    expect(engine.model).toBe(model);
    expect((await greedy()).length).toBeGreaterThan(0);
  });
});
