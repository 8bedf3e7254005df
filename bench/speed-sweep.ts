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
import { measureSpeeds, type SpeedOptions } from '../src/eval/speed';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { NodeFolderSource } from '../src/node/folder-source';
import { LlamaModel } from '../src/model/model';
import { sweepPlans } from '../src/eval/sweep-plans';
import { withSyntheticModel } from './synthetic-model';
import { quickMode, syntheticModels, writeResult } from './common';
import { describeRow, sweepRow, type SweepRow } from './sweep-row';
import { Timer } from './pass-timer';
import { readProbe } from './probes';

async function sweep(model: LlamaModel, options: SpeedOptions, label: string): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  const plans = sweepPlans(model.numLayers);
  const results = await measureSpeeds(model, plans.map((p) => p.plan), options);
  const full = results[0]!;
  for (const [i, { k }] of plans.entries()) {
    const row = sweepRow(k, results[i]!, full);
    rows.push(row);
    console.log(`${label} k=${k}: ${describeRow(row)}`);
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
    await withSyntheticModel(rt, shape, async (model) => {
      result[name] = { shape, weightBytes: model.checkpoint.bytesOnGpu, options, probeGBps: await probe(), rows: await sweep(model, options, name) };
    });
  }
  writeResult(ctx, 'bench-engine', result);
  ctx.device.destroy();
}

await main();
