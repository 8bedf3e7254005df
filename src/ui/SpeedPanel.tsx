import { lazy, Suspense, useMemo } from 'react';
import { isCpuAdapter } from '../gpu/device';
import { runBenchmark } from './lab-actions';
import { ErrorNote } from './ErrorNote';
import { FormatComparisonPanel } from './FormatComparisonPanel';
import { fmtRange, fmtRate } from './format';
import { firstReason, useFieldProblems } from './field-problems';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { speedPoints } from './speed-points';
import { anyJob, criterionLabel, currentRecord, keptBlocks, planKey, protectProblem, useLab } from './store';

const SpeedChart = lazy(() => import('./SpeedChart'));

/** Decode and prefill tokens/s of the original, the current plan and a sweep; the speedup. */
export function SpeedPanel() {
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const model = useLab((s) => s.model);
  const record = useLab(currentRecord);
  const busy = useLab(anyJob);
  const L = model?.numLayers ?? 0;
  const speed = record.speed;
  const fullKey = planKey(keptBlocks(L, []));
  const curKey = planKey(keptBlocks(L, record.plan.removed));
  const full = speed?.results[fullKey];
  const cur = speed?.results[curKey];
  // The healed variants (same blocks as their plan) are rows of the table, not points of the curve.
  const plain = useMemo(() => (speed ? Object.fromEntries(Object.entries(speed.results).filter(([, r]) => !r.variant)) : {}), [speed]);
  const points = useMemo(() => (speed ? speedPoints(plain, L, fullKey, speed.sweep.map((x) => planKey(x.plan))) : []), [speed, plain, L, fullKey]);
  const measured = full && cur ? cur.decodeTokensPerS / full.decodeTokensPerS : null;
  const ideal = full && cur ? full.weightBytesPerToken / cur.weightBytesPerToken : null;
  const o = settings.speed;
  const protectError = protectProblem(settings.protectText);
  const fields = useFieldProblems();
  const gpu = useLab((s) => s.gpu);
  const software = gpu.state === 'ready' && isCpuAdapter(gpu.adapter);
  const blocked = firstReason(!model && 'Load a model first.', fields.first && `Fix ${fields.first}.`);
  const setO = (patch: Partial<typeof o>) => update({ speed: { ...o, ...patch } });
  const rows = speed ? Object.entries(speed.results).sort(([, a], [, b]) => b.blocks - a.blocks || Number(!!a.variant) - Number(!!b.variant)) : [];
  return (
    <section className="panel" aria-labelledby="speed-h" data-testid="speed-panel">
      <h2 id="speed-h">Speed</h2>
      <div className="row">
        <NumberField label="Prompt tokens" value={o.promptTokens} min={1} max={2048} onChange={(promptTokens) => setO({ promptTokens })} onProblem={fields.report('speed-prompt')} testId="speed-prompt" />
        <NumberField label="New tokens" value={o.newTokens} min={2} max={2048} onChange={(newTokens) => setO({ newTokens })} onProblem={fields.report('speed-new')} testId="speed-new" />
        <NumberField label="Warm-up" value={o.warmup} min={0} max={20} onChange={(warmup) => setO({ warmup })} onProblem={fields.report('speed-warmup')} testId="speed-warmup" />
        <NumberField label="Runs" value={o.runs} min={1} max={50} onChange={(runs) => setO({ runs })} onProblem={fields.report('speed-runs')} testId="speed-runs" />
        <NumberField label="Sweep step (0 = none)" value={settings.sweepStep} min={0} max={L || 64} onChange={(sweepStep) => update({ sweepStep })} onProblem={fields.report('sweep-step')} testId="sweep-step" />
        <button type="button" className="primary" disabled={busy || !!protectError || blocked !== null} title={blocked ?? undefined} onClick={() => void runBenchmark()} data-testid="run-benchmark">Benchmark</button>
        {protectError && <span className="error-text">Fix the protected blocks (Criteria panel): the sweep depends on them.</span>}
      </div>
      {model && blocked && !busy && <p className="muted" data-testid="benchmark-blocked">{blocked}</p>}
      <p className="muted">Plans: original, current plan{record.heal?.step ? ', the healed model (LoRA merged into the weights: the pruned shapes; and unmerged)' : ''}{settings.sweepStep > 0 ? `, and k = ${settings.sweepStep}, ${settings.sweepStep * 2}, … ≤ ${Math.floor(L / 2)} blocks removed by ${criterionLabel(settings.selectCriterion)} (if computed)` : ''}. Batch 1, forced length, mean of the timed runs. Each click measures every plan again in one run, the plans taking turns run by run, so drift weighs on all alike.</p>
      {software && (
        <p className="warning" data-testid="speed-software">
          This is a software adapter (WebGPU on the CPU): speedups here are dominated by per-element and host costs and scatter from run to run,
          so read them as noise, not as what a GPU would gain; compare against the memory-bound ideal on a GPU.
        </p>
      )}
      <JobProgress jobKey="benchmark" label="Benchmark" />
      <ErrorNote jobKey="benchmark" />
      <div className="speed-summary">
        <div className="big-number">
          <span className="big" data-testid="speedup">{measured !== null ? `${measured.toFixed(2)}×` : '–'}</span>
          <span className="muted">decode speedup of the current plan{ideal !== null ? ` (memory-bound ideal ${ideal.toFixed(2)}×)` : full ? ' — benchmark the current plan' : ''}</span>
        </div>
        {points.length > 0 && (
          <Suspense fallback={<div className="speed-chart muted">Loading chart…</div>}>
            <SpeedChart points={points} current={measured !== null ? { removed: record.plan.removed.length, measured } : null} />
          </Suspense>
        )}
      </div>
      {rows.length > 0 && (
        <table className="results" data-testid="speed-table">
          <caption className="muted">{rows[0]![1].adapter}; {speed!.options.promptTokens} prompt + {speed!.options.newTokens} new tokens, {speed!.options.warmup} warm-up, {speed!.options.runs} runs; {rows[0]![1].timing === 'timestamp-query' ? 'GPU time (timestamp queries)' : 'wall clock'}</caption>
          <thead><tr><th scope="col">Blocks</th><th scope="col">Decode tok/s</th><th scope="col" title="Slowest and fastest timed run">Runs</th><th scope="col">Prefill tok/s</th><th scope="col">Speedup</th><th scope="col">Ideal</th></tr></thead>
          <tbody>
            {rows.map(([id, r]) => {
              const key = planKey(r.plan);
              return (
                <tr key={id} className={key === curKey && !r.variant ? 'current' : ''} data-testid={r.variant ? `speed-row-${r.variant.replace(/\W+/g, '-').toLowerCase()}` : undefined}>
                  <th scope="row">{r.blocks}{r.variant ? ` (healed: ${r.variant})` : key === fullKey ? ' (original)' : key === curKey ? ' (current plan)' : ''}</th>
                  <td>{fmtRate(r.decodeTokensPerS)}</td>
                  <td className="muted">{fmtRange(r.decodeRunsTokensPerS)}</td>
                  <td>{fmtRate(r.prefillTokensPerS)}</td>
                  <td>{full ? `${(r.decodeTokensPerS / full.decodeTokensPerS).toFixed(2)}×` : '–'}</td>
                  <td>{full ? `${(full.weightBytesPerToken / r.weightBytesPerToken).toFixed(2)}×` : '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <FormatComparisonPanel blocked={blocked} />
    </section>
  );
}
