/**
 * Host cost of a decode step (part of `npm run bench`): CPU microseconds spent encoding and
 * submitting one batch-1 step, per dispatch, in this process (Node + Dawn). The GPU is idle while
 * each step is encoded (every step waits for the previous one), so on a software adapter the
 * rasteriser's threads do not compete with the host for the cores; the engine sweep reports the
 * same figure with steps pipelined. Target: <= 5 us per dispatch. Dispatches per block are counted
 * as the difference between the full plan and the plan without one block.
 * Writes results/<adapter>/bench-host.json.
 */
import { describeAdapter } from '../src/gpu/device';
import { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { LlamaModel } from '../src/model/model';
import { fullPlan, planWithout } from '../src/model/plan';
import { acquireNodeDevice } from '../src/node/dawn';
import { NodeFolderSource } from '../src/node/folder-source';
import { withSyntheticModel } from './synthetic-model';
import { quickMode, syntheticModels, writeResult } from './common';

export interface HostCost {
  blocks: number;
  dispatchesPerStep: number;
  dispatchesPerBlock: number;
  steps: number;
  /** Median over steps of host ms per step (encode + submit), and that over the step's dispatches. */
  hostMsPerStep: number;
  hostUsPerDispatch: number;
  /** The fastest step: the figure least disturbed by other work on a busy host. */
  minHostUsPerDispatch: number;
  /** Median share of a step's host time spent in queue.submit (where Dawn translates the commands for the driver). */
  submitShare: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Host time of `steps` decode steps of the full plan, each encoded with the GPU idle. */
export async function measureHostCost(model: LlamaModel, steps: number): Promise<HostCost> {
  const L = model.numLayers;
  const state = model.decoder(steps + 2);
  state.setPlan(planWithout(L, [L - 1]));
  const withoutOne = state.dispatchesPerStep;
  state.setPlan(fullPlan(L));
  const dispatchesPerStep = state.dispatchesPerStep;
  const queue = model.rt.device.queue;
  state.prefill([model.config.bosTokenId ?? 1]);
  await queue.onSubmittedWorkDone();
  const perStep: number[] = [];
  const submitShare: number[] = [];
  for (let i = 0; i < steps; i++) {
    const [host, submit] = [state.hostMs, state.submitMs];
    state.append(3 + i);
    perStep.push(state.hostMs - host);
    submitShare.push((state.submitMs - submit) / (state.hostMs - host));
    await queue.onSubmittedWorkDone();
  }
  const hostMsPerStep = median(perStep);
  const us = (ms: number) => (1000 * ms) / dispatchesPerStep;
  return {
    blocks: L, dispatchesPerStep, dispatchesPerBlock: dispatchesPerStep - withoutOne, steps, hostMsPerStep,
    hostUsPerDispatch: us(hostMsPerStep), minHostUsPerDispatch: us(Math.min(...perStep)), submitShare: median(submitShare),
  };
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-host');
  const rt = new GpuRuntime(ctx);
  const steps = quickMode(ctx) ? 40 : 200;
  const result: Record<string, unknown> = { adapter: describeAdapter(ctx.adapter), runtime: `Node ${process.version} + Dawn (webgpu package)`, date: new Date().toISOString() };
  const report = (name: string, r: HostCost) => {
    console.log(`${name}: ${r.dispatchesPerStep} dispatches per step (${r.dispatchesPerBlock} per block), host ${r.hostMsPerStep.toFixed(3)} ms per step = ${r.hostUsPerDispatch.toFixed(2)} us per dispatch (fastest step ${r.minHostUsPerDispatch.toFixed(2)}; target <= 5), ${(100 * r.submitShare).toFixed(0)}% of it in submit`);
    result[name] = r;
  };
  const embedded = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource('public/models/kjv-tiny-llama')));
  report('embedded', await measureHostCost(embedded, steps));
  embedded.dispose();
  for (const { name, shape } of syntheticModels(ctx)) {
    await withSyntheticModel(rt, shape, async (model) => report(name, await measureHostCost(model, steps)));
  }
  writeResult(ctx, 'bench-host', result);
  ctx.device.destroy();
}

await main();
