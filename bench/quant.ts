/**
 * Quantized weights benchmark (`npm run bench:quant`, part of `npm run bench`):
 *   - the embedded model in every weight format: held-out perplexity against the model as stored, and
 *     each criterion's ranking with the blocks it selects (20%, seed protection) and which blocks swap;
 *   - GPU bytes of LLaMA-7B (32 blocks of 4096 / 11008, vocabulary 32000) per format from config.json
 *     alone (the memory plan), and what the lab allocates when it loads the 8-block synthetic model of
 *     that shape (bench/common.ts) in each format, beside the plan's figure for those 8 blocks.
 * Software adapters run the quick variant (about 15 minutes on SwiftShader instead of 35): 16 held-out windows
 * (QUANT_WINDOWS=n sets them, 0 = all), no PPL criterion (BENCH_QUICK=0 adds it: 1.5 min a format there) and
 * only q4 of the 3.8 GB synthetic model. Iterative PPL (k x L evaluations) is always left out. Writes results/<adapter>/bench-quant.json.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabEngine } from '../src/app/lab';
import type { CriterionResult } from '../src/app/protocol';
import { describeAdapter } from '../src/gpu/device';
import { parseConfig } from '../src/io/config';
import { acquireNodeDevice } from '../src/node/dawn';
import { nodeHost } from '../src/node/host';
import { NodeFolderSource } from '../src/node/folder-source';
import { loadCheckpoint } from '../src/io/load';
import { quantizeTensor } from '../src/kernels/quantize';
import type { GpuTensor } from '../src/gpu/tensor';
import { WEIGHT_FORMATS, type WeightFormat } from '../src/quant/formats';
import { memoryPlan } from '../src/quant/memory-plan';
import type { ScoredCriterion } from '../src/prune/criteria/registry';
import { SEED_PROTECTED, resolveProtected } from '../src/prune/select';
import { selection } from '../src/cli/selection';
import { syntheticConfig, writeLargeCheckpoint } from '../tests/helpers/synthetic-checkpoint';
import { quickMode, SYNTHETIC_7B_BLOCKS, writeResult } from './common';

const ctx = await acquireNodeDevice('bench-quant');
const quick = quickMode(ctx);
const engine = new LabEngine(ctx, nodeHost);
const job = { signal: new AbortController().signal, progress: () => {} };
const embedded = { kind: 'embedded', name: 'kjv-tiny-llama' } as const;
const windows = Number(process.env.QUANT_WINDOWS ?? (quick ? 16 : 0)) || undefined;
const criteria: ScoredCriterion[] = quick ? ['taylor', 'magnitude', 'block-influence', 'angular'] : ['ppl', 'taylor', 'magnitude', 'block-influence', 'angular'];
const formats = WEIGHT_FORMATS.map((f) => f.id);

/** The embedded model in one format: held-out PPL and every criterion's result on the seed calibration. */
async function embeddedRun(format: WeightFormat) {
  const info = await engine.load(embedded, job.signal, () => {}, { format });
  const ppl = await engine.handle({ type: 'perplexity', text: { kind: 'embedded', name: 'heldout' }, window: 128, bos: 'first', plans: [engine.model!.fullPlan()], ...(windows ? { maxWindows: windows } : {}) }, job);
  if (ppl.type !== 'perplexity') throw new Error(ppl.type);
  const scored = await engine.handle({ type: 'score', criteria, calibration: { text: { kind: 'embedded', name: 'calibration' }, n: 10, t: 128, seed: 1234, bos: 'first' }, k: 3 }, job);
  if (scored.type !== 'scored') throw new Error(scored.type);
  return { format, bytesOnGpu: info.bytesOnGpu, ppl: ppl.results[0]!.ppl, windows: ppl.results[0]!.windows, results: scored.results };
}

const runs: Awaited<ReturnType<typeof embeddedRun>>[] = [];
// QUANT_PARTS=7b runs only the LLaMA-7B part.
for (const format of process.env.QUANT_PARTS === '7b' ? [] : formats) {
  console.log(`embedded model, ${format}...`);
  runs.push(await embeddedRun(format));
}
const L = engine.model?.numLayers ?? 0;
const protect = resolveProtected(SEED_PROTECTED, L);
const k = Math.round(0.2 * L);
const base = runs[0];
const removedBy = (r: CriterionResult) => selection(r, k, SEED_PROTECTED, L).removed;
const rankings = runs.length === 0 ? [] : criteria.map((c) => {
  const ref = base!.results.find((r) => r.criterion === c)!;
  return {
    criterion: c,
    formats: runs.map((run) => {
      const r = run.results.find((x) => x.criterion === c)!;
      // Positions (least important first) where this format's order differs from the model as stored.
      const moved = r.ranking.flatMap((b, i) => (ref.ranking[i] === b ? [] : [{ position: i + 1, stored: ref.ranking[i]!, here: b }]));
      return { format: run.format, ranking: r.ranking, removed: removedBy(r), sameRemoved: removedBy(r).join() === removedBy(ref).join(), moved };
    }),
  };
});

if (base) console.log(`\nheld-out PPL (${base.windows} windows of 128):`);
for (const r of runs) console.log(`  ${r.format.padEnd(5)} ${r.ppl.toFixed(3)}  (${(100 * (r.ppl / base!.ppl - 1)).toFixed(2)}% vs stored)  weights on GPU ${(r.bytesOnGpu / 2 ** 20).toFixed(2)} MiB`);
if (base) console.log(`\nrankings (least important first) and the ${k} blocks removed with blocks ${protect.join(', ')} protected:`);
for (const c of rankings) {
  for (const f of c.formats) {
    const swaps = f.moved.map((m) => `#${m.position}: ${m.stored}->${m.here}`).join(', ');
    console.log(`  ${c.criterion.padEnd(16)} ${f.format.padEnd(5)} [${f.ranking.join(', ')}] removes [${f.removed.join(', ')}]${f.format === 'float' ? '' : f.moved.length ? `; differs at ${swaps}` : '; same order'}`);
  }
}

// LLaMA-7B: the plan for 32 blocks, and the allocation of the 8-block synthetic model beside the plan's figure for it.
const plan7b = memoryPlan(parseConfig(syntheticConfig({ ...SYNTHETIC_7B_BLOCKS, layers: 32 })), ctx.device.limits, { budgetBytes: Number.MAX_SAFE_INTEGER });
const plan8 = memoryPlan(parseConfig(syntheticConfig(SYNTHETIC_7B_BLOCKS)), ctx.device.limits, { budgetBytes: Number.MAX_SAFE_INTEGER });
const dir = await mkdtemp(join(tmpdir(), 'bench-quant-7b-'));
const allocated: { format: WeightFormat; bytesOnGpu: number; planned: number; loadSeconds: number }[] = [];
try {
  await writeLargeCheckpoint(dir, SYNTHETIC_7B_BLOCKS);
  for (const format of quick ? (['q4'] as const) : formats) {
    engine.dispose();
    const t0 = performance.now();
    // The loader and quantizer the engine uses (the synthetic folder has no tokenizer to load).
    const quantize = format === 'float' ? undefined : { dtype: format, run: (t: GpuTensor, target: GPUBuffer) => quantizeTensor(engine.rt, t, format, target) };
    const ckpt = await loadCheckpoint(ctx.device, new NodeFolderSource(dir), quantize ? { quantize } : {});
    allocated.push({ format, bytesOnGpu: ckpt.bytesOnGpu, planned: plan8.formats.find((f) => f.format === format)!.weights, loadSeconds: (performance.now() - t0) / 1000 });
    ckpt.dispose();
  }
} finally {
  engine.dispose();
  await rm(dir, { recursive: true, force: true });
}
console.log('\nLLaMA-7B shape (4096 / 11008, vocabulary 32000), weights on the GPU:');
for (const f of plan7b.formats) console.log(`  ${f.format.padEnd(5)} 32 blocks (plan): ${(f.weights / 1e9).toFixed(3)} GB`);
for (const a of allocated) console.log(`  ${a.format.padEnd(5)} 8 blocks: allocated ${(a.bytesOnGpu / 1e9).toFixed(3)} GB, plan ${(a.planned / 1e9).toFixed(3)} GB (load ${a.loadSeconds.toFixed(1)} s)`);

writeResult(ctx, 'bench-quant', {
  adapter: describeAdapter(ctx.adapter), quick,
  embedded: { perplexity: runs.map((r) => ({ format: r.format, ppl: r.ppl, windows: r.windows, bytesOnGpu: r.bytesOnGpu })), k, protect, rankings },
  llama7b: { plan32Blocks: plan7b.formats.map((f) => ({ format: f.format, weights: f.weights })), allocated8Blocks: allocated },
});
ctx.device.destroy();
