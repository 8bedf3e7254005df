/**
 * Healing benchmark (part of `npm run bench`; alone: `npm run bench:heal`): one LoRA training step
 * (forward + backward through the kept blocks with the adapters, adapter gradients, AdamW) against a
 * forward pass of the same batch (the pruned model's batched forward with its loss; target: a step
 * costs at most 4 forwards), training tokens/s, and the peak GPU memory the step allocates beside
 * the weights (every buffer created and destroyed on the device is counted while the step runs)
 * against the up-front estimate (src/heal/memory.ts). Models: the embedded model with blocks 5, 8, 10
 * removed (the PPL criterion's three on its calibration set) and a synthetic model of LLaMA-7B's
 * block shape (4096 / 11008, 32 heads), each at 1 x 256 tokens, r 8 on q k v o gate up down,
 * dropout 0.05. Quick mode (software adapters): the 7B-shaped model has 1 block instead of 8 and
 * runs 1 x 64 tokens (BENCH_HEAL_TOKENS=256 for the full batch, ~10 min on SwiftShader), 2 timed runs
 * instead of 5. Writes results/<adapter>/bench-heal.json.
 */
import { describeAdapter } from '../src/gpu/device';
import { GpuRuntime } from '../src/gpu/runtime';
import { LoraAdapters } from '../src/heal/lora';
import { healMemoryEstimate } from '../src/heal/memory';
import { ADAMW_DEFAULTS, LoraTrainer } from '../src/heal/train';
import { loadCheckpoint } from '../src/io/load';
import { LlamaModel } from '../src/model/model';
import { planWithout } from '../src/model/plan';
import { acquireNodeDevice } from '../src/node/dawn';
import { NodeFolderSource } from '../src/node/folder-source';
import { mulberry32 } from '../src/util/random';
import { quickMode, SYNTHETIC_7B_BLOCKS, writeResult } from './common';
import { withSyntheticModel } from './synthetic-model';

/** Live and peak bytes of the device's buffers from now on (created minus destroyed). */
function byteTracker(device: GPUDevice) {
  const original = device.createBuffer.bind(device);
  let live = 0;
  let peak = 0;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = original(descriptor);
    live += buffer.size;
    peak = Math.max(peak, live);
    const destroy = buffer.destroy.bind(buffer);
    let gone = false;
    buffer.destroy = () => {
      if (!gone) live -= buffer.size;
      gone = true;
      destroy();
    };
    return buffer;
  };
  return { peak: () => peak, restore: () => (device.createBuffer = original) };
}

async function timeRuns(runs: number, f: () => Promise<unknown>): Promise<number[]> {
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function benchModel(rt: GpuRuntime, model: LlamaModel, plan: number[], N: number, T: number, runs: number, label: string) {
  const rand = mulberry32(7);
  const ids = Uint32Array.from({ length: N * T }, () => Math.floor(rand() * model.config.vocabSize));
  const settings = { r: 8, alpha: 16, dropout: 0.05, seed: 0 };
  // forward of the same batch: the pruned model's batched forward with its NLL read back (warm-up run first)
  const forward = model.batch(N, T);
  forward.setTokens(ids);
  await forward.run({ plan });
  const forwardSeconds = await timeRuns(runs, () => forward.run({ plan }));
  forward.destroy();

  // every buffer the training allocates from here on: adapters, moments, scratch, each step's own
  const tracker = byteTracker(rt.device);
  const lora = new LoraAdapters(rt, model.config, plan, settings);
  const trainer = new LoraTrainer(model, lora, { lr: 1e-4, warmupSteps: 0, totalSteps: 1000, ...ADAMW_DEFAULTS });
  try {
    await trainer.trainStep([{ ids, N, T }]); // warm-up: pipelines, the adapters' scratch of this shape
    const stepSeconds = await timeRuns(runs, () => trainer.trainStep([{ ids, N, T }]));
    const estimate = healMemoryEstimate(model.config, plan, { ...settings, batch: N, window: T }, rt.device.limits);
    const row = {
      blocks: plan.length, batch: `${N} x ${T}`, runs,
      forwardSeconds: mean(forwardSeconds), stepSeconds: mean(stepSeconds),
      stepOverForward: mean(stepSeconds) / mean(forwardSeconds),
      trainTokensPerS: (N * T) / mean(stepSeconds),
      adapterParameters: lora.parameterCount,
      peakTrainingBytes: tracker.peak(),
      estimateBytes: estimate.total - estimate.evaluation,
      weightBytes: model.checkpoint.bytesOnGpu,
    };
    console.log(label, JSON.stringify(row));
    return row;
  } finally {
    tracker.restore();
    trainer.dispose();
    lora.dispose();
  }
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-heal');
  const rt = new GpuRuntime(ctx);
  const quick = quickMode(ctx);
  const runs = quick ? 2 : 5;
  const result: Record<string, unknown> = { adapter: describeAdapter(ctx.adapter), date: new Date().toISOString(), quick, target: 'step / forward <= 4' };

  const embedded = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource('public/models/kjv-tiny-llama')));
  result.embedded = await benchModel(rt, embedded, planWithout(embedded.numLayers, [5, 8, 10]), 1, 256, runs, 'embedded');
  embedded.dispose();

  if (process.env.BENCH_SYNTHETIC !== '0') {
    const shape = quick ? { ...SYNTHETIC_7B_BLOCKS, layers: 1 } : SYNTHETIC_7B_BLOCKS;
    await withSyntheticModel(rt, shape, async (model) => {
      const T = quick ? Number(process.env.BENCH_HEAL_TOKENS ?? 64) : 256;
      result['synthetic-7b-blocks'] = {
        shape, ...(await benchModel(rt, model, model.fullPlan(), 1, T, runs, 'synthetic-7b-blocks')),
        ...(quick ? { note: `quick mode (software adapter): 1 block of the 7B shape, 1 x ${T} tokens` } : {}),
      };
    });
  }
  writeResult(ctx, 'bench-heal', result);
  ctx.device.destroy();
}

await main();
