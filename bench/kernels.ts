/**
 * Kernel micro-benchmarks on the current adapter (npm run bench:kernels):
 *   - streaming-read bandwidth probe and FMA-throughput probe (the roofline of this run),
 *   - decode matvec on 4096x4096 and 11008x4096 f16 weights (effective GB/s of weight bytes),
 *   - prefill matmul GFLOP/s at M = 128/512/1280 (K = N = 4096, f16 weights),
 *   - attention prefill and decode timings,
 * and the ratios matvec / read probe (target >= 70%) and matmul / FMA probe (target >= 40%).
 * Times are GPU timestamps (timestamp-query) when available, else queue-synchronized wall clock.
 * BENCH_QUICK=1 (default on SwiftShader / fallback adapters; BENCH_QUICK=0 forces full sizes) scales
 * the compute-heavy cases down and says which. Writes results/<adapter>/bench-kernels.json.
 */
import { createStorageBuffer } from '../src/gpu/buffers';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { GpuRuntime } from '../src/gpu/runtime';
import { AttentionDecode, AttentionPrefill, KvCache } from '../src/kernels/attention';
import { StepBuffer } from '../src/kernels/common';
import { Matmul } from '../src/kernels/matmul';
import { Matvec } from '../src/kernels/matvec';
import { quickMode, writeResult } from './common';
import { filledBuffer, Timer } from './pass-timer';
import { fmaProbe, readProbe } from './probes';

interface Row {
  name: string;
  shape: string;
  ms: number;
  metric: number;
  unit: 'GB/s' | 'GFLOP/s' | 'ms';
  note?: string;
}

/** Three significant digits, whatever the scale (software adapters reach 0.01 GB/s). */
function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-kernels');
  const rt = new GpuRuntime(ctx);
  const adapter = describeAdapter(ctx.adapter);
  const quick = quickMode(ctx);
  const reps = quick ? 3 : 10;
  const timer = new Timer(rt);
  const scaled: string[] = [];
  const rows: Row[] = [];
  const add = (r: Row) => {
    rows.push(r);
    console.log(`${r.name.padEnd(22)} ${r.shape.padEnd(34)} ${r.ms.toFixed(3).padStart(10)} ms ${fmt(r.metric).padStart(10)} ${r.unit}`);
  };
  console.log(`adapter: ${adapter}; timing: ${timer.method}; quick: ${quick}`);

  const read = await readProbe(rt, timer, quick, reps);
  const probeGBs = read.rate;
  add({ name: 'read probe', shape: read.shape, ms: read.ms, metric: probeGBs, unit: 'GB/s' });

  const fma = await fmaProbe(rt, timer, quick, reps);
  const fmaGF = fma.rate;
  add({ name: 'fma probe', shape: fma.shape, ms: fma.ms, metric: fmaGF, unit: 'GFLOP/s' });

  // Decode matvec, f16 weights, M = 1: LLaMA-7B shapes at the default workgroup size, then a sweep of
  // workgroup sizes and reductions over 7B and 1B shapes (the default is chosen from such sweeps).
  const inner = quick ? 1 : 20;
  const matvecGBs: number[] = [];
  const sweep: { shape: string; workgroupSize: number; subgroups: boolean; GBps: number }[] = [];
  const shapes = quick ? [[4096, 4096], [11008, 4096]] : [[4096, 4096], [11008, 4096], [2048, 2048], [5632, 2048], [32000, 2048]];
  for (const [N, K] of shapes as [number, number][]) {
    const w = filledBuffer(rt, N * K * 2, 'mv.w');
    const x = filledBuffer(rt, K * 4, 'mv.x', 0x3f800000);
    const y = createStorageBuffer(rt.device, N * 4, 'mv.y');
    const shape = `1x${K} . ${N}x${K}^T`;
    if (K === 4096) {
      const op = new Matvec(rt, { M: 1, N, K, dtype: 'f16', x, w, y });
      const ms = await timer.time((pass) => op.encode(pass), reps, inner);
      const gbs = (N * K * 2) / 1e6 / ms;
      matvecGBs.push(gbs);
      add({ name: `matvec f16${op.usesSubgroups ? ' (subgroups)' : ''}`, shape, ms, metric: gbs, unit: 'GB/s' });
    }
    if (!quick) {
      for (const workgroupSize of [32, 64, 128, 256]) {
        for (const subgroups of ctx.adapter.hasSubgroups ? [true, false] : [false]) {
          const op = new Matvec(rt, { M: 1, N, K, dtype: 'f16', x, w, y, workgroupSize, subgroups });
          const ms = await timer.time((pass) => op.encode(pass), reps, inner);
          sweep.push({ shape, workgroupSize, subgroups, GBps: (N * K * 2) / 1e6 / ms });
        }
      }
    }
    w.destroy();
    x.destroy();
    y.destroy();
  }
  for (const r of sweep) console.log(`matvec sweep ${r.shape.padEnd(24)} WG ${String(r.workgroupSize).padStart(3)} ${r.subgroups ? 'subgroups' : 'workgroup'}: ${fmt(r.GBps)} GB/s`);

  // Prefill matmul, f16 weights.
  const dim = quick ? 1024 : 4096;
  const Ms = quick ? [128, 512] : [128, 512, 1280];
  if (quick) scaled.push(`matmul K = N = ${dim} (not 4096), M = ${Ms.join('/')} (not 128/512/1280)`);
  // The adapter's default kernel; on hardware also the `wide` candidate (8x8 blocks per thread, K split
  // when there are few tiles, and unsplit beside it), so one GPU run shows what should be the default.
  const matmulGF: number[] = [];
  const matmulWideGF: number[] = [];
  {
    const w = filledBuffer(rt, dim * dim * 2, 'mm.w');
    for (const M of Ms) {
      const x = filledBuffer(rt, M * dim * 4, 'mm.x', 0x3f800000);
      const y = createStorageBuffer(rt.device, M * dim * 4, 'mm.y');
      const ops = [new Matmul(rt, { M, N: dim, K: dim, dtype: 'f16', x, w, y })];
      if (!quick) {
        const wide = new Matmul(rt, { M, N: dim, K: dim, dtype: 'f16', x, w, y, kernel: 'wide' });
        ops.push(wide, ...(wide.splitK > 1 ? [new Matmul(rt, { M, N: dim, K: dim, dtype: 'f16', x, w, y, kernel: 'wide', splitK: 1 })] : []));
      }
      for (const [i, op] of ops.entries()) {
        const ms = await timer.time((pass) => op.encode(pass), reps);
        const gf = (2 * M * dim * dim) / 1e6 / ms;
        if (i < 2) (i === 0 ? matmulGF : matmulWideGF).push(gf);
        add({ name: `matmul f16 (${op.kernel}${op.kernel === 'wide' ? `, split K ${op.splitK}` : ''})`, shape: `${M}x${dim} . ${dim}x${dim}^T`, ms, metric: gf, unit: 'GFLOP/s' });
      }
      x.destroy();
      y.destroy();
    }
    w.destroy();
  }

  // Attention.
  const H = quick ? 8 : 32;
  const KVH = quick ? 2 : 8;
  const D = 128;
  const T = quick ? 128 : 512;
  const cacheLen = quick ? 512 : 2048;
  if (quick) scaled.push(`attention H = ${H}/${KVH} (not 32/8), prefill T = ${T} (not 512), decode cache ${cacheLen} (not 2048)`);
  {
    const q = filledBuffer(rt, T * H * D * 4, 'att.q', 0x3c23d70a);
    const k = filledBuffer(rt, T * KVH * D * 4, 'att.k', 0x3c23d70a);
    const v = filledBuffer(rt, T * KVH * D * 4, 'att.v', 0x3f800000);
    const out = createStorageBuffer(rt.device, T * H * D * 4, 'att.out');
    const lse = createStorageBuffer(rt.device, T * H * 4, 'att.lse');
    const op = new AttentionPrefill(rt, { B: 1, T, nHeads: H, nKvHeads: KVH, headDim: D, q, k, v, out, lse });
    const ms = await timer.time((pass) => op.encode(pass), reps);
    const flops = 2 * 2 * ((T * (T + 1)) / 2) * H * D;
    add({ name: `attention prefill (${op.kernel})`, shape: `T${T} H${H}/${KVH} D${D}`, ms, metric: flops / 1e6 / ms, unit: 'GFLOP/s', note: 'causal FLOPs' });

    const cache = new KvCache(rt, 1, KVH, D, cacheLen);
    const step = new StepBuffer(rt, cacheLen - 1);
    const dec = new AttentionDecode(rt, { B: 1, T: 1, nHeads: H, nKvHeads: KVH, headDim: D, q, k, v, cache, step, out });
    const dms = await timer.time((pass) => dec.encode(pass), reps, inner);
    const cacheBytes = 2 * cacheLen * KVH * D * 4;
    add({ name: 'attention decode', shape: `len ${cacheLen} H${H}/${KVH} D${D} ${dec.nsplit} splits`, ms: dms, metric: cacheBytes / 1e6 / dms, unit: 'GB/s', note: 'KV-cache bytes' });
  }

  const ratios = {
    matvecVsReadProbe: matvecGBs.map((g) => g / probeGBs),
    matmulVsFmaProbe: matmulGF.map((g) => g / fmaGF),
    matmulWideVsFmaProbe: matmulWideGF.map((g) => g / fmaGF),
  };
  console.log(`matvec / read probe: ${ratios.matvecVsReadProbe.map((r) => `${(100 * r).toFixed(0)}%`).join(', ')} (target >= 70%)`);
  console.log(`matmul / FMA probe:  ${ratios.matmulVsFmaProbe.map((r) => `${(100 * r).toFixed(0)}%`).join(', ')} (target >= 40%)`);
  if (matmulWideGF.length) console.log(`matmul (wide) / FMA probe: ${ratios.matmulWideVsFmaProbe.map((r) => `${(100 * r).toFixed(0)}%`).join(', ')}`);
  if (scaled.length) console.log(`scaled (quick mode): ${scaled.join('; ')}`);

  writeResult(ctx, 'bench-kernels', { adapter, adapterSummary: ctx.adapter, timing: timer.method, quick, scaled, reps, inner, rows, ratios, matvecSweep: sweep, date: new Date().toISOString() });
  ctx.device.destroy();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
