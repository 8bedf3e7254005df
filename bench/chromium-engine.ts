/**
 * The engine sweep in Chromium (part of `npm run bench`; run `vite build` first): opens the bench
 * page (bench/page/chromium.html) in Debian's Chromium through the e2e harness and writes what it
 * measured to results/<the browser's adapter>/bench-chromium.json, so the browser's host cost per
 * dispatch and its decode rate sit beside Node's in the report. Chromium uses the kind of adapter
 * Node gets here: SwiftShader on a machine without a GPU, else the GPU (with WebGPU developer
 * features, so timestamps are not rounded to 100 us). Skipped when there is no Chromium.
 */
import { existsSync } from 'node:fs';
import { describeAdapter, isCpuAdapter, type AdapterSummary } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { CHROMIUM, openLab } from '../tests/e2e/browser';
import { writeResult } from './common';

const TIMEOUT_MS = 30 * 60_000;

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`bench-chromium: skipped, no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
    return;
  }
  const ctx = await acquireNodeDevice('bench-chromium');
  const hardwareAdapter = !isCpuAdapter(ctx.adapter);
  ctx.device.destroy();
  const quick = process.env.BENCH_QUICK ? `?quick=${process.env.BENCH_QUICK === '0' ? 0 : 1}` : '';
  const lab = await openLab(`/bench/page/chromium.html${quick}`, { hardwareAdapter });
  try {
    const handle = await lab.page.waitForFunction(() => window.benchResult ?? window.benchError, undefined, { timeout: TIMEOUT_MS, polling: 1000 });
    const outcome = (await handle.jsonValue()) as string | { adapter: AdapterSummary };
    if (typeof outcome === 'string') throw new Error(`the bench page failed: ${outcome}`);
    console.log((await lab.page.locator('#log').textContent())?.split('\n').filter((l) => l.startsWith('k=') || l.startsWith('adapter')).join('\n'));
    writeResult({ adapter: outcome.adapter }, 'bench-chromium', { ...outcome, adapter: `${describeAdapter(outcome.adapter)} (Chromium)` });
  } finally {
    if (lab.errors.length) console.error(`browser errors: ${lab.errors.join('; ')}`);
    await lab.close();
  }
}

await main();
