/**
 * Gathers the results of one `npm run bench` (kernels, checkpoint load, engine, criteria) into
 * results/bench.json and the committed markdown report docs/benchmarks.md, adapter stated.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function latest(prefix: string): Json | undefined {
  if (!existsSync('results')) return undefined;
  const file = readdirSync('results').filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort().pop();
  return file ? JSON.parse(readFileSync(`results/${file}`, 'utf8')) : undefined;
}

const f = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);
const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;

function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function sweepSection(title: string, s: Json | undefined, probeGBps: number | undefined): string {
  if (!s) return `### ${title}\n\nnot measured\n`;
  const rows = (s.rows as Json[]).map((r) => [r.removed, r.blocks, f(r.decodeTokensPerS, 1), f(r.prefillTokensPerS, 1), f(r.measuredSpeedup, 3), f(r.idealSpeedup, 3), pct(r.ofIdeal), f(r.decodeGBps, 3), probeGBps ? pct(r.decodeGBps / probeGBps) : '-']);
  return `### ${title} (${mib(s.weightBytes)} of weights)\n\n${table(['blocks removed', 'blocks', 'decode tok/s', 'prefill tok/s', 'speedup', 'ideal', 'of ideal', 'decode GB/s', 'of probe'], rows)}\n`;
}

function main(): void {
  const kernels = latest('bench-kernels');
  const load = latest('load-memory');
  const engine = latest('bench-engine');
  const criteria = latest('bench-criteria');
  const probe = (kernels?.rows as Json[] | undefined)?.find((r) => r.name === 'read probe')?.metric as number | undefined;
  const adapters = [...new Set([kernels?.adapter, load?.adapter, engine?.adapter, criteria?.adapter].filter(Boolean))];
  const all = { adapters, kernels, load, engine, criteria, date: new Date().toISOString() };
  mkdirSync('results', { recursive: true });
  writeFileSync('results/bench.json', JSON.stringify(all, null, 2));

  const parts = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${all.date.slice(0, 10)}. Adapter: **${adapters.join('; ') || 'unknown'}**.`,
    'Ratios compare figures measured in the same run (bandwidth and FMA probes), so they survive a',
    'noisy machine; absolute numbers on a software adapter (SwiftShader) say nothing about a real GPU.',
    '',
    '## Kernels',
    '',
    kernels
      ? `${table(['kernel', 'shape', 'ms', 'figure'], (kernels.rows as Json[]).map((r) => [r.name, r.shape, f(r.ms, 3), `${f(r.metric, 3)} ${r.unit}`]))}\n\n` +
        `Timing: ${kernels.timing}${kernels.quick ? `; quick mode: ${(kernels.scaled as string[]).join('; ')}` : ''}.\n` +
        `Decode matvec / read probe: ${(kernels.ratios.matvecVsReadProbe as number[]).map(pct).join(', ')} (target >= 70%). ` +
        `Prefill matmul / FMA probe: ${(kernels.ratios.matmulVsFmaProbe as number[]).map(pct).join(', ')} (target >= 40%).`
      : 'not measured',
    '',
    '## Decode and prefill speed against blocks removed',
    '',
    'Ideal = memory-bound speedup (weight bytes read per token, full / pruned). Targets: measured >= 90% of ideal; decode on the synthetic model >= 50% of the read probe.',
    engine ? `Options: ${JSON.stringify(engine.options)}${engine.quick ? ' (quick mode on a software adapter)' : ''}.` : '',
    '',
    sweepSection('Embedded model (kjv-tiny-llama)', engine?.embedded, probe),
    sweepSection('Synthetic model', engine?.synthetic, probe),
    '## Criteria wall times',
    '',
    criteria
      ? table(['model', 'calibration', 'magnitude s', 'BI + angular s', 'PPL s', 'Taylor s', 'PPL prefix reuse saving', 'Taylor peak GPU'], (['embedded', 'synthetic'] as const).filter((k) => criteria[k]).map((k) => {
          const c = criteria[k];
          return [k, c.calibration, f(c.seconds.magnitude), f(c.seconds.similarity), f(c.seconds.ppl), f(c.seconds.taylor), `${pct(c.ppl.measuredSaving)} (${c.ppl.blockRuns} vs ${c.ppl.blockRunsWithoutReuse} block runs)`, mib(c.taylorPeakBytes)];
        }))
      : 'not measured',
    '',
    '## Checkpoint load',
    '',
    load
      ? `${load.dtype}, ${mib(load.checkpointBytes)} checkpoint, largest tensor ${mib(load.largestTensorBytes)}: ${f(load.seconds)} s; peak host growth ${f(load.hostGrowthOverLargestTensor)} x the largest tensor (target <= 2x).`
      : 'not measured',
    '',
  ];
  mkdirSync('docs', { recursive: true });
  writeFileSync('docs/benchmarks.md', parts.join('\n'));
  console.log('wrote results/bench.json and docs/benchmarks.md');
}

main();
