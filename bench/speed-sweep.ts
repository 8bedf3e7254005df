/**
 * Engine benchmark (part of `npm run bench`): decode and prefill tokens/s with k = 0..L/2 blocks
 * removed, each against the memory-bound ideal speedup (weight bytes per token, full / pruned),
 * on the embedded model and on synthetic models (>= 100 MB everywhere; TinyLlama-1.1B-shaped and
 * LLaMA-7B-block-shaped on hardware adapters); plus effective decode bandwidth (weight bytes per token / time per token)
 * and the read probe measured just before each sweep, so the two are compared within one run.
 * Headline times are GPU timestamps where the adapter has them; wall clock is kept beside them.
 * Writes results/<adapter>/bench-engine.json. BENCH_QUICK=1 (default on software adapters)
 * shortens the runs and says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureSpeeds, speedup, type SpeedOptions, type SpeedResult } from '../src/eval/speed';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { NodeFolderSource } from '../src/node/folder-source';
import { LlamaModel } from '../src/model/model';
import { planWithout } from '../src/model/plan';
import { writeLargeCheckpoint } from '../tests/helpers/synthetic-checkpoint';
import { quickMode, syntheticModels, writeResult } from './common';
import { Timer } from './pass-timer';
import { readProbe } from './probes';

export interface SweepRow {
  removed: number;
  blocks: number;
  decodeTokensPerS: number;
  prefillTokensPerS: number;
  measuredSpeedup: number;
  idealSpeedup: number;
  ofIdeal: number;
  decodeGBps: number;
  timing: SpeedResult['timing'];
  wallDecodeTokensPerS: number;
  wallSpeedup: number;
  hostMsPerToken: number;
  /** Slowest and fastest timed run, decode tok/s. */
  decodeRunRange: [number, number];
}

/**
 * Plans with k = 0 .. L/2 blocks removed. Speed depends only on k, so the blocks come from outside the
 * seed's protected set first (4 .. L-3), then from the rest but the first and the last (an 8-block
 * model has only two unprotected blocks).
 */
function sweepPlans(L: number): { k: number; plan: number[] }[] {
  const blocks = Array.from({ length: L }, (_, i) => i);
  const unprotected = (i: number) => i >= 4 && i < L - 2;
  const candidates = [...blocks.filter(unprotected), ...blocks.filter((i) => !unprotected(i) && i > 0 && i < L - 1)];
  const out = [];
  for (let k = 0; k <= Math.floor(L / 2) && k <= candidates.length; k++) out.push({ k, plan: planWithout(L, candidates.slice(0, k)) });
  return out;
}

async function sweep(model: LlamaModel, options: SpeedOptions, label: string): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  const plans = sweepPlans(model.numLayers);
  const results = await measureSpeeds(model, plans.map((p) => p.plan), options);
  const full = results[0]!;
  for (const [i, { k, plan }] of plans.entries()) {
    const r = results[i]!;
    const s = speedup(full, r);
    rows.push({
      removed: k, blocks: plan.length, decodeTokensPerS: r.decodeTokensPerS, prefillTokensPerS: r.prefillTokensPerS,
      measuredSpeedup: s.measured, idealSpeedup: s.ideal, ofIdeal: s.ofIdeal, decodeGBps: (r.weightBytesPerToken * r.decodeTokensPerS) / 1e9,
      timing: r.timing, wallDecodeTokensPerS: r.wall.decodeTokensPerS, wallSpeedup: r.wall.decodeTokensPerS / full.wall.decodeTokensPerS,
      hostMsPerToken: r.hostMsPerDecodeToken,
      decodeRunRange: [Math.min(...r.decodeRunsTokensPerS), Math.max(...r.decodeRunsTokensPerS)],
    });
    console.log(`${label} k=${k}: decode ${r.decodeTokensPerS.toFixed(1)} tok/s (${r.timing}; x${s.measured.toFixed(3)}, ideal x${s.ideal.toFixed(3)}, ${(100 * s.ofIdeal).toFixed(1)}%), ${((r.weightBytesPerToken * r.decodeTokensPerS) / 1e9).toFixed(2)} GB/s; wall clock ${r.wall.decodeTokensPerS.toFixed(1)} tok/s, host encode ${r.hostMsPerDecodeToken.toFixed(3)} ms/token`);
  }
  return rows;
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-engine');
  const rt = new GpuRuntime(ctx);
  const quick = quickMode(ctx);
  const options: SpeedOptions = quick ? { promptTokens: 16, newTokens: 16, warmup: 1, runs: 2 } : { promptTokens: 32, newTokens: 128, warmup: 2, runs: 5 };
  // On a software adapter the embedded model decodes ~10-20 tok/s: affordably longer runs, which
  // its speedup figures need (16 tokens x 2 runs scattered them over 83-114% of ideal on 2 cores).
  const embeddedOptions: SpeedOptions = quick ? { promptTokens: 16, newTokens: 32, warmup: 1, runs: 4 } : options;
  // The read probe right before each sweep, so decode GB/s is compared with the bandwidth of this run.
  const timer = new Timer(rt);
  const probe = async () => {
    const p = await readProbe(rt, timer, quick, quick ? 3 : 10);
    console.log(`read probe: ${p.rate.toPrecision(3)} GB/s`);
    return p.rate;
  };
  const result: Record<string, unknown> = { adapter: describeAdapter(ctx.adapter), quick, options, date: new Date().toISOString() };

  const embedded = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource('public/models/kjv-tiny-llama')));
  result.embedded = { weightBytes: embedded.checkpoint.bytesOnGpu, options: embeddedOptions, probeGBps: await probe(), rows: await sweep(embedded, embeddedOptions, 'embedded') };
  embedded.dispose();

  for (const { name, shape } of syntheticModels(ctx)) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-engine-'));
    try {
      await writeLargeCheckpoint(dir, shape);
      const model = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource(dir)));
      result[name] = { shape, weightBytes: model.checkpoint.bytesOnGpu, options, probeGBps: await probe(), rows: await sweep(model, options, name) };
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  writeResult(ctx, 'bench-engine', result);
  ctx.device.destroy();
}

await main();
