/**
 * Engine benchmark (part of `npm run bench`): decode and prefill tokens/s with k = 0..L/2 blocks
 * removed, each against the memory-bound ideal speedup (weight bytes per token, full / pruned),
 * on the embedded model and on a synthetic model of >= 100 MB of weights; plus effective decode
 * bandwidth (weight bytes per token / time per token). Writes results/bench-engine.json.
 * BENCH_QUICK=1 (default on software adapters) shortens the runs and says so.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureSpeed, speedup, type SpeedOptions, type SpeedResult } from '../src/eval/speed';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/gpu/node';
import { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { NodeFolderSource } from '../src/io/node-source';
import { LlamaModel } from '../src/model/model';
import { planWithout } from '../src/model/plan';
import { writeLargeCheckpoint } from '../tests/helpers/synthetic-checkpoint';

export interface SweepRow {
  removed: number;
  blocks: number;
  decodeTokensPerS: number;
  prefillTokensPerS: number;
  measuredSpeedup: number;
  idealSpeedup: number;
  ofIdeal: number;
  decodeGBps: number;
}

/** Removes k blocks from the middle (outside the seed's protected set): speed depends only on k. */
function sweepPlans(L: number): { k: number; plan: number[] }[] {
  const candidates = Array.from({ length: L }, (_, i) => i).filter((i) => i >= 4 && i < L - 2);
  const out = [];
  for (let k = 0; k <= Math.floor(L / 2) && k <= candidates.length; k++) out.push({ k, plan: planWithout(L, candidates.slice(0, k)) });
  return out;
}

async function sweep(model: LlamaModel, options: SpeedOptions, label: string): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  let full: SpeedResult | undefined;
  for (const { k, plan } of sweepPlans(model.numLayers)) {
    const r = await measureSpeed(model, plan, options);
    full ??= r;
    const s = speedup(full, r);
    rows.push({
      removed: k, blocks: plan.length, decodeTokensPerS: r.decodeTokensPerS, prefillTokensPerS: r.prefillTokensPerS,
      measuredSpeedup: s.measured, idealSpeedup: s.ideal, ofIdeal: s.ofIdeal, decodeGBps: (r.weightBytesPerToken * r.decodeTokensPerS) / 1e9,
    });
    console.log(`${label} k=${k}: decode ${r.decodeTokensPerS.toFixed(1)} tok/s (x${s.measured.toFixed(3)}, ideal x${s.ideal.toFixed(3)}, ${(100 * s.ofIdeal).toFixed(1)}%), ${((r.weightBytesPerToken * r.decodeTokensPerS) / 1e9).toFixed(2)} GB/s`);
  }
  return rows;
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-engine');
  const rt = new GpuRuntime(ctx);
  const software = ctx.adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(describeAdapter(ctx.adapter));
  const quick = process.env.BENCH_QUICK ? process.env.BENCH_QUICK !== '0' : software;
  const options: SpeedOptions = quick ? { promptTokens: 16, newTokens: 16, warmup: 1, runs: 2 } : { promptTokens: 32, newTokens: 128, warmup: 2, runs: 5 };
  const result: Record<string, unknown> = { adapter: describeAdapter(ctx.adapter), quick, options, date: new Date().toISOString() };

  const embedded = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource('public/models/kjv-tiny-llama')));
  result.embedded = { weightBytes: embedded.checkpoint.bytesOnGpu, rows: await sweep(embedded, options, 'embedded') };
  embedded.dispose();

  const dir = await mkdtemp(join(tmpdir(), 'bench-engine-'));
  try {
    // ~110 MB of F16 weights: 8 blocks of hidden 1024 / intermediate 2816 plus a 32000-token vocabulary.
    const shape = { hidden: 1024, intermediate: 2816, heads: 16, kvHeads: 4, vocab: 32000, layers: 8, dtype: 'F16' as const };
    await writeLargeCheckpoint(dir, shape);
    const synthetic = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource(dir)));
    result.synthetic = { shape, weightBytes: synthetic.checkpoint.bytesOnGpu, rows: await sweep(synthetic, options, 'synthetic') };
    synthetic.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  mkdirSync('results', { recursive: true });
  writeFileSync('results/bench-engine.json', JSON.stringify(result, null, 2));
  console.log('wrote results/bench-engine.json');
  ctx.device.destroy();
}

await main();
