/**
 * The engine sweep in the browser (bench/page/chromium.html): the embedded model loaded and measured
 * through the lab's worker, as the Speed panel runs it, so the browser's own overhead (worker,
 * Chromium's WebGPU implementation and its host cost per dispatch) is in the figures. The result
 * lands in `window.benchResult` (or `window.benchError`) for bench/chromium-engine.ts, and on the page.
 */
import { EMBEDDED_MODEL } from '../../src/app/embedded';
import { EngineClient } from '../../src/browser/worker-client';
import { isCpuAdapter } from '../../src/gpu/device';
import type { SpeedOptions } from '../../src/eval/speed';
import { sweepPlans } from '../../src/eval/sweep-plans';
import { describeRow, sweepRow } from '../sweep-row';

declare global {
  interface Window {
    benchResult?: unknown;
    benchError?: string;
  }
}

const log = document.getElementById('log')!;
const say = (line: string) => (log.textContent += `\n${line}`);

async function run(): Promise<void> {
  const client = new EngineClient();
  const { adapter } = await client.init();
  const quickParam = new URLSearchParams(location.search).get('quick');
  const quick = quickParam === null ? isCpuAdapter(adapter) : quickParam !== '0';
  // The same run lengths as the Node sweep's embedded model (bench/speed-sweep.ts).
  const options: SpeedOptions = quick ? { promptTokens: 16, newTokens: 32, warmup: 1, runs: 4 } : { promptTokens: 32, newTokens: 128, warmup: 2, runs: 5 };
  say(`adapter: ${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}; ${quick ? 'quick' : 'full'} runs`);
  const { model } = await client.load({ kind: 'embedded', name: EMBEDDED_MODEL }).result;
  const plans = sweepPlans(model.numLayers);
  client.onEvent((e) => e.type === 'progress' && say(`${e.done}/${e.total} ${e.what}`));
  const { results } = await client.benchmark({ plans: plans.map((p) => p.plan), options }).result;
  const rows = plans.map(({ k }, i) => sweepRow(k, results[i]!, results[0]!));
  for (const r of rows) say(`k=${r.removed}: ${describeRow(r)}`);
  window.benchResult = { adapter, userAgent: navigator.userAgent, quick, options, date: new Date().toISOString(), embedded: { weightBytes: model.bytesOnGpu, rows } };
}

run().catch((e: unknown) => {
  window.benchError = e instanceof Error ? e.message : String(e);
  say(`failed: ${window.benchError}`);
});
