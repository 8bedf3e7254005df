/**
 * Criteria benchmark (part of `npm run bench`): wall time of every criterion on the embedded model
 * (its real calibration set) and on the synthetic models of bench/common.ts (random token ids), the
 * PPL criterion's prefix-reuse saving (measured against recomputing every prefix), the frontier
 * sweep's block runs with the residual prefix reused against plain evaluation, and the Taylor
 * pass's peak GPU memory. Writes results/<adapter>/bench-criteria.json.
 */
import { readFileSync } from 'node:fs';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { NodeFolderSource } from '../src/node/folder-source';
import { loadTokenizer } from '../src/io/tokenizer';
import { LlamaModel } from '../src/model/model';
import { planWithout } from '../src/model/plan';
import { sampleCalibration, splitDocuments } from '../src/prune/calibration';
import { magnitudeScores } from '../src/prune/magnitude';
import { pplScores } from '../src/prune/ppl-criterion';
import { sweepLines } from '../src/prune/criteria/sweep-plans';
import { SEED_PROTECTED } from '../src/prune/select';
import { perplexitiesSharingPrefix } from '../src/eval/prefix-reuse';
import { similarityScores } from '../src/prune/similarity';
import { computeTaylorScores } from '../src/prune/taylor';
import { mulberry32 } from '../src/util/random';
import { withSyntheticModel } from './synthetic-model';
import { quickMode, syntheticModels, writeResult } from './common';

async function timed<T>(f: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { seconds: (performance.now() - t0) / 1000, value };
}

async function benchModel(model: LlamaModel, ids: Uint32Array, N: number, T: number, label: string) {
  const L = model.numLayers;
  const magnitude = await timed(() => magnitudeScores(model));
  const similarity = await timed(() => similarityScores(model, ids, N, T));
  const ppl = await timed(() => pplScores(model, ids, N, T));
  // Without reuse each removal reruns blocks 0..i-1: time it on a few blocks and scale per block run.
  const naiveSample = Math.min(3, L);
  const naive = await timed(async () => {
    for (let i = L - naiveSample; i < L; i++) await model.nll(ids, N, T, planWithout(L, [i]));
  });
  const naivePerBlockRun = naive.seconds / (naiveSample * (L - 1));
  const taylor = await timed(() => computeTaylorScores(model, ids, N, T));
  // The frontier sweep's PPL line (k = 0..K by the PPL scores) on the calibration rows as windows.
  const line = sweepLines([{ criterion: 'ppl', scores: ppl.value.scores }], SEED_PROTECTED, L)[0]!;
  const windows = Array.from({ length: N }, (_, i) => ids.subarray(i * T, (i + 1) * T));
  const sweep = await timed(() => perplexitiesSharingPrefix(model, windows, line.points.map((p) => planWithout(L, p.removed)), { window: T }));
  const row = {
    blocks: L, calibration: `${N} x ${T}`,
    seconds: { magnitude: magnitude.seconds, similarity: similarity.seconds, ppl: ppl.seconds, taylor: taylor.seconds },
    ppl: {
      blockRuns: ppl.value.blockRuns, blockRunsWithoutReuse: ppl.value.blockRunsWithoutReuse,
      estimatedSecondsWithoutReuse: naivePerBlockRun * ppl.value.blockRunsWithoutReuse,
      measuredSaving: 1 - ppl.seconds / (naivePerBlockRun * ppl.value.blockRunsWithoutReuse),
    },
    sweep: { plans: line.points.length, seconds: sweep.seconds, blockRuns: sweep.value.blockRuns, blockRunsWithoutReuse: sweep.value.blockRunsWithoutReuse },
    taylorPeakBytes: taylor.value.peakBytes,
    weightBytes: model.checkpoint.bytesOnGpu,
  };
  console.log(label, JSON.stringify(row));
  return row;
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-criteria');
  const rt = new GpuRuntime(ctx);
  const result: Record<string, unknown> = { adapter: describeAdapter(ctx.adapter), date: new Date().toISOString() };

  const folder = 'public/models/kjv-tiny-llama';
  const source = new NodeFolderSource(folder);
  const tokenizer = await loadTokenizer(source);
  const text = readFileSync('public/data/kjv-calib.txt', 'utf8');
  const cal = sampleCalibration(splitDocuments(text), { bosId: tokenizer.bosId ?? 1, encode: (t, s) => tokenizer.encode(t, { addSpecialTokens: s }) }, {
    textSha256: '', description: 'kjv-calib', n: 10, t: 128, seed: 1234, bos: 'first',
  });
  const embedded = new LlamaModel(rt, await loadCheckpoint(rt.device, source));
  result.embedded = await benchModel(embedded, cal.ids, 10, 128, 'embedded');
  embedded.dispose();

  const quick = quickMode(ctx);
  for (const { name, shape } of syntheticModels(ctx)) {
    await withSyntheticModel(rt, shape, async (model) => {
      const [N, T] = quick ? [2, 64] : [10, 128];
      const rand = mulberry32(1);
      const ids = Uint32Array.from({ length: N * T }, () => Math.floor(rand() * shape.vocab!));
      result[name] = { shape, ...(await benchModel(model, ids, N, T, name)), note: quick ? 'quick mode (software adapter): calibration reduced to 2 x 64' : undefined };
    });
  }
  writeResult(ctx, 'bench-criteria', result);
  ctx.device.destroy();
}

await main();
