/**
 * Gathers the results of `npm run bench` into the committed markdown report docs/benchmarks.md:
 * one section per adapter found under results/<adapter slug>/ (this machine's run, and runs
 * copied in from other machines), each with its adapter stated; the gathered JSON of each adapter
 * is kept beside the report as docs/benchmarks/<slug>.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NARRATIVE_FILE, reportIntro } from './report-intro';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = process.env.BENCH_RESULTS ?? 'results';

function read(dir: string, name: string): Json | undefined {
  const file = join(dir, `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

const f = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
/** Three significant digits, whatever the scale (SwiftShader reaches 0.01 GB/s, an H200 4000). */
const sig = (x: number) => (!Number.isFinite(x) ? '-' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);
const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const MODEL_TITLES: Record<string, string> = {
  embedded: 'Embedded model (kjv-tiny-llama)',
  synthetic: 'Synthetic model, 8 blocks of 1024 / 2816, vocabulary 32000',
  'synthetic-1b': 'Synthetic TinyLlama-1.1B shape, 22 blocks of 2048 / 5632, vocabulary 32000',
  'synthetic-7b-blocks': 'Synthetic LLaMA-7B block shape, 8 blocks of 4096 / 11008, vocabulary 32000',
};
const modelKeys = (j: Json) => Object.keys(MODEL_TITLES).filter((k) => j[k]);

function sweepSection(key: string, s: Json, probeGBps: number | undefined): string {
  const rows = (s.rows as Json[]).map((r) => [
    r.removed, r.blocks, f(r.decodeTokensPerS, 1), r.decodeRunRange ? `${f(r.decodeRunRange[0], 1)}-${f(r.decodeRunRange[1], 1)}` : '-', f(r.prefillTokensPerS, 1), f(r.measuredSpeedup, 3), f(r.idealSpeedup, 3), pct(r.ofIdeal),
    sig(r.decodeGBps), probeGBps ? pct(r.decodeGBps / probeGBps) : '-', f(r.wallDecodeTokensPerS, 1), f(r.wallSpeedup, 3),
    r.hostMsPerToken === undefined ? '-' : sig(r.hostMsPerToken),
    r.dispatchesPerStep ?? '-', r.hostUsPerDispatch === undefined ? '-' : sig(r.hostUsPerDispatch),
  ]);
  const timing = (s.rows as Json[])[0]?.timing ?? 'wall clock';
  const options = s.options ? `; ${s.options.newTokens} new tokens after ${s.options.promptTokens}, ${s.options.warmup} warm-up, mean of ${s.options.runs} runs, plans round-robin` : '';
  const probe = s.probeGBps ? `; read probe ${sig(s.probeGBps)} GB/s just before` : '';
  return `#### ${MODEL_TITLES[key]} (${mib(s.weightBytes)} of weights; timing: ${timing}${options}${probe})\n\n` +
    `${table(['removed', 'blocks', 'decode tok/s', 'runs (min-max)', 'prefill tok/s', 'speedup', 'ideal', 'of ideal', 'decode GB/s', 'of probe', 'wall decode tok/s', 'wall speedup', 'host encode ms/token', 'dispatches / step', 'host us / dispatch'], rows)}\n`;
}

/** Host time to encode and submit one decode step with the GPU idle (bench/host-encode.ts). Target <= 5 us per dispatch in Node. */
function hostSection(h: Json): string {
  const rows = modelKeys(h).map((k) => {
    const r = h[k];
    return [k, r.blocks, r.dispatchesPerStep, r.dispatchesPerBlock, f(r.hostMsPerStep, 3), f(r.hostUsPerDispatch), f(r.minHostUsPerDispatch), pct(r.submitShare)];
  });
  return `${h.runtime}, median of ${h[modelKeys(h)[0]!]?.steps} steps each encoded with the GPU idle. Target <= 5 us per dispatch.\n\n` +
    table(['model', 'blocks', 'dispatches / step', 'per block', 'host ms / step', 'us / dispatch', 'fastest step, us / dispatch', 'in submit'], rows);
}

/** Matvec GB/s by workgroup size and reduction, one row per shape (hardware runs only). */
function matvecSweep(rows: Json[] | undefined): string {
  if (!rows?.length) return '';
  const configs = [...new Set(rows.map((r) => `${r.workgroupSize} ${r.subgroups ? 'subgroups' : 'workgroup'}`))];
  const shapes = [...new Set(rows.map((r) => r.shape as string))];
  const cell = (shape: string, config: string) => rows.find((r) => r.shape === shape && `${r.workgroupSize} ${r.subgroups ? 'subgroups' : 'workgroup'}` === config);
  return `\n\nMatvec GB/s by workgroup size and reduction (the default is 64 threads, subgroups when present):\n\n` +
    table(['shape', ...configs], shapes.map((sh) => [sh, ...configs.map((cf) => sig(cell(sh, cf)?.GBps ?? NaN))]));
}

/** Scored tokens/s and tokens run per token scored (contexts once + continuations; target <= 1.05). */
function tasksSection(t: Json): string {
  const rows: (string | number)[][] = [];
  for (const [task, r] of Object.entries(t.embedded ?? {}) as [string, Json][]) {
    rows.push([`embedded: ${task}`, r.items, r.tokens, f(r.scoredTokensPerS, 0), f(r.runRatio, 3), `acc ${pct(r.metrics.acc.value)}, acc_norm ${pct(r.metrics.acc_norm.value)}`]);
  }
  for (const k of modelKeys(t).filter((k) => k !== 'embedded')) {
    const r = t[k];
    rows.push([`${k} (random HellaSwag-shaped items)`, r.items, r.tokens, f(r.scoredTokensPerS, 0), f(r.runRatio, 3), '-']);
  }
  return table(['model / task', 'items', 'scored tokens', 'scored tok/s', 'run / scored', 'accuracy'], rows) + (t.quick ? '\n\nQuick mode (software adapter): 40 items per KJV task, no synthetic model.' : '');
}

/** A LoRA training step against a forward of the same batch (target <= 4x), tokens/s and peak memory. */
function healSection(h: Json): string {
  return table(['model', 'blocks', 'batch', 'forward s', 'training step s', 'step / forward', 'training tok/s', 'adapter params', 'peak training GPU (estimate)'], modelKeys(h).map((k) => {
    const r = h[k];
    return [k, r.blocks, r.batch, f(r.forwardSeconds, 3), f(r.stepSeconds, 3), `${f(r.stepOverForward)} x`, f(r.trainTokensPerS, 0), r.adapterParameters, `${mib(r.peakTrainingBytes)} (${mib(r.estimateBytes)})`];
  })) + (h.quick ? '\n\nQuick mode (software adapter): the 7B-shaped model has 1 block.' : '');
}

function adapterSection(slug: string, dir: string): { markdown: string; json: Json } {
  const kernels = read(dir, 'bench-kernels');
  const load = read(dir, 'load-memory');
  const engine = read(dir, 'bench-engine');
  const criteria = read(dir, 'bench-criteria');
  const tasks = read(dir, 'bench-tasks');
  const host = read(dir, 'bench-host');
  const heal = read(dir, 'bench-heal');
  const chromium = read(dir, 'bench-chromium');
  const probe = (kernels?.rows as Json[] | undefined)?.find((r) => r.name === 'read probe')?.metric as number | undefined;
  const all = [kernels, load, engine, criteria, tasks, host, chromium, heal];
  const adapter = all.find((j) => j?.adapter)?.adapter ?? slug;
  const dates = all.map((j) => j?.date?.slice(0, 10)).filter(Boolean);
  const parts = [
    `## ${adapter}`,
    '',
    `Measured ${[...new Set(dates)].join(', ')}; raw figures in [benchmarks/${slug}.json](benchmarks/${slug}.json).`,
    '',
    '### Kernels',
    '',
    kernels
      ? `${table(['kernel', 'shape', 'ms', 'figure'], (kernels.rows as Json[]).map((r) => [r.name, r.shape, sig(r.ms), `${sig(r.metric)} ${r.unit}`]))}\n\n` +
        `Timing: ${kernels.timing}${kernels.quick ? `; quick mode: ${(kernels.scaled as string[]).join('; ')}` : ''}.\n` +
        `Decode matvec / read probe: ${(kernels.ratios.matvecVsReadProbe as number[]).map(pct).join(', ')} (target >= 70%). ` +
        `Prefill matmul / FMA probe: ${(kernels.ratios.matmulVsFmaProbe as number[]).map(pct).join(', ')} (target >= 40%).` +
        ((kernels.ratios.matmulWideVsFmaProbe as number[] | undefined)?.length
          ? ` Candidate \`wide\` kernel (K split where tiles are few): ${(kernels.ratios.matmulWideVsFmaProbe as number[]).map(pct).join(', ')}.`
          : '') +
        matvecSweep(kernels.matvecSweep)
      : 'not measured',
    '',
    '### Decode and prefill speed against blocks removed',
    '',
    'Ideal = memory-bound speedup (weight bytes read per token, full / pruned). Targets: measured >= 90% of ideal; decode on a model of >= 100 MB >= 50% of the read probe.',
    engine ? `Options: ${JSON.stringify(engine.options)}${engine.quick ? ' (quick mode on a software adapter; the embedded model runs longer, see its heading)' : ''}.` : 'not measured',
    engine && !engine.synthetic ? 'Synthetic models skipped (BENCH_SYNTHETIC=0).' : '',
    '',
    // "of probe": the read probe measured right before that sweep; older results fall back to the kernel run's.
    ...(engine ? modelKeys(engine).map((k) => sweepSection(k, engine[k], engine[k].probeGBps ?? probe)) : []),
    '### Host cost of a decode step',
    '',
    host ? hostSection(host) : 'not measured',
    '',
    '### The engine sweep in Chromium (the lab\'s worker, `bench/page/chromium.html`)',
    '',
    chromium ? `${chromium.userAgent}; options ${JSON.stringify(chromium.options)}.\n\n${sweepSection('embedded', chromium.embedded, undefined)}` : 'not measured',
    '',
    '### Criteria wall times',
    '',
    criteria
      ? table(['model', 'calibration', 'magnitude s', 'BI + angular s', 'PPL s', 'Taylor s', 'PPL prefix reuse saving', 'PPL sweep block runs, reused / plain', 'Taylor peak GPU'], modelKeys(criteria).map((k) => {
          const c = criteria[k];
          const sweep = c.sweep ? `${f(c.sweep.blockRuns / c.sweep.blockRunsWithoutReuse)} (${c.sweep.blockRuns} / ${c.sweep.blockRunsWithoutReuse}, ${c.sweep.plans} plans, ${f(c.sweep.seconds)} s)` : 'not measured';
          return [k, c.calibration, f(c.seconds.magnitude), f(c.seconds.similarity), f(c.seconds.ppl), f(c.seconds.taylor), `${pct(c.ppl.measuredSaving)} (${c.ppl.blockRuns} vs ${c.ppl.blockRunsWithoutReuse} block runs)`, sweep, mib(c.taylorPeakBytes)];
        }))
      : 'not measured',
    '',
    '### Zero-shot task scoring',
    '',
    tasks ? tasksSection(tasks) : 'not measured',
    '',
    '### Healing (LoRA training step)',
    '',
    heal ? healSection(heal) : 'not measured',
    '',
    '### Checkpoint load',
    '',
    load
      ? `${load.dtype}, ${mib(load.checkpointBytes)} checkpoint, largest tensor ${mib(load.largestTensorBytes)}: ${f(load.seconds)} s (${f(load.throughputMBps, 0)} MB/s); peak host growth ${f(load.hostGrowthOverLargestTensor)} x the largest tensor (target <= 2x).`
      : 'not measured',
    '',
  ];
  return { markdown: parts.join('\n'), json: { adapter, kernels, load, engine, criteria, tasks, host, chromium, heal } };
}

function main(): void {
  const slugs = existsSync(ROOT) ? readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort() : [];
  if (slugs.length === 0) throw new Error(`no results under ${ROOT}/: run the benchmark scripts first`);
  mkdirSync('docs/benchmarks', { recursive: true });
  const sections = slugs.map((slug) => {
    const { markdown, json } = adapterSection(slug, join(ROOT, slug));
    writeFileSync(`docs/benchmarks/${slug}.json`, JSON.stringify(json, null, 2) + '\n');
    return markdown;
  });
  const intro = reportIntro(readFileSync(NARRATIVE_FILE, 'utf8'));
  writeFileSync('docs/benchmarks.md', [...intro, ...sections].join('\n'));
  console.log(`wrote docs/benchmarks.md and docs/benchmarks/*.json for ${slugs.join(', ')}`);
}

main();
