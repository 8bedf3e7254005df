/**
 * Host memory of a streaming checkpoint load. Writes a synthetic F16 LLaMA checkpoint of at least
 * 512 MB (BENCH_LOAD_MB to change) to a temp folder, loads it onto the GPU through the Node folder
 * source (F16, or BF16 with BENCH_LOAD_DTYPE=BF16), samples process.memoryUsage() during the load and reports the peak growth against the
 * largest tensor (target: <= 2x). On SwiftShader the "GPU" buffers live in host memory too, so RSS
 * growth is also shown minus the bytes on the GPU.
 * Run: npm run bench:load  (node --expose-gc for a clean baseline). Writes results/<adapter>/load-memory.json.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { loadCheckpoint } from '../src/io/load';
import { NodeFolderSource } from '../src/node/folder-source';
import { writeLargeCheckpoint } from '../tests/helpers/synthetic-checkpoint';
import { writeResult } from './common';

const MB = 1e6;
const targetMb = Number(process.env.BENCH_LOAD_MB ?? 512);
/** F16 (stored as is) or BF16 (converted to f16 chunk by chunk): BENCH_LOAD_DTYPE. */
const dtype = (process.env.BENCH_LOAD_DTYPE ?? 'F16') as 'F16' | 'BF16';

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-load');
  const dir = await mkdtemp(join(tmpdir(), 'bench-load-'));
  try {
    // hidden 2048, intermediate 5632, vocab 32000 (TinyLlama-like); layers to reach the target size.
    const perLayer = (4 * 2048 * 2048 + 3 * 2048 * 5632) * 2;
    const embeddings = 2 * 32000 * 2048 * 2;
    const layers = Math.max(1, Math.ceil((targetMb * MB - embeddings) / perLayer));
    const shape = { hidden: 2048, intermediate: 5632, heads: 16, kvHeads: 16, vocab: 32000, layers, dtype };
    const { fileBytes, largestTensorBytes } = await writeLargeCheckpoint(dir, shape);
    console.log(`checkpoint: ${dtype}, ${(fileBytes / MB).toFixed(0)} MB, ${layers} layers, largest tensor ${(largestTensorBytes / MB).toFixed(1)} MB`);

    gc();
    await new Promise((r) => setTimeout(r, 100));
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakArrayBuffers = base.arrayBuffers;
    let peakHeap = base.heapUsed;
    const sample = () => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    };
    const timer = setInterval(sample, 5);
    const started = performance.now();
    const loaded = await loadCheckpoint(ctx.device, new NodeFolderSource(dir), { onProgress: sample });
    const seconds = (performance.now() - started) / 1000;
    sample();
    clearInterval(timer);

    const arrayBuffersGrowth = peakArrayBuffers - base.arrayBuffers;
    const heapGrowth = peakHeap - base.heapUsed;
    const rssGrowth = peakRss - base.rss;
    const hostGrowth = arrayBuffersGrowth + Math.max(0, heapGrowth);
    const result = {
      adapter: describeAdapter(ctx.adapter),
      date: new Date().toISOString(),
      dtype,
      checkpointBytes: fileBytes,
      tensors: loaded.tensors.size,
      largestTensorBytes,
      bytesOnGpu: loaded.bytesOnGpu,
      seconds,
      throughputMBps: fileBytes / MB / seconds,
      peakArrayBuffersGrowth: arrayBuffersGrowth,
      peakHeapGrowth: heapGrowth,
      peakRssGrowth: rssGrowth,
      rssGrowthMinusGpuBytes: rssGrowth - loaded.bytesOnGpu,
      hostGrowthOverLargestTensor: hostGrowth / largestTensorBytes,
      rssMinusGpuOverLargestTensor: (rssGrowth - loaded.bytesOnGpu) / largestTensorBytes,
      target: 'host (array buffers + JS heap) growth <= 2x largest tensor',
      pass: hostGrowth <= 2 * largestTensorBytes,
    };
    loaded.dispose();
    console.log(`adapter: ${result.adapter}`);
    console.log(`loaded ${result.tensors} tensors, ${(result.bytesOnGpu / MB).toFixed(0)} MB on GPU in ${seconds.toFixed(1)} s (${result.throughputMBps.toFixed(0)} MB/s)`);
    console.log(
      `peak growth: array buffers ${(arrayBuffersGrowth / MB).toFixed(1)} MB, JS heap ${(heapGrowth / MB).toFixed(1)} MB, ` +
        `RSS ${(rssGrowth / MB).toFixed(0)} MB (RSS - GPU bytes ${((rssGrowth - loaded.bytesOnGpu) / MB).toFixed(0)} MB)`,
    );
    console.log(
      `host growth / largest tensor = ${result.hostGrowthOverLargestTensor.toFixed(2)}x (target <= 2x: ${result.pass ? 'pass' : 'FAIL'}); ` +
        `(RSS - GPU) / largest = ${result.rssMinusGpuOverLargestTensor.toFixed(2)}x`,
    );
    writeResult(ctx, `load-memory${dtype === 'F16' ? '' : `-${dtype.toLowerCase()}`}`, result);

    ctx.device.destroy();
    if (!result.pass) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
