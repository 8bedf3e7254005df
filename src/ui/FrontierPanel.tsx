import { lazy, Suspense, useMemo, useState } from 'react';
import { sweepCsv, sweepRows } from '../app/sweep';
import { ErrorNote } from './ErrorNote';
import type { FrontierPick } from './FrontierChart';
import { frontierData, pointOf } from './frontier-points';
import { JobProgress } from './JobProgress';
import { downloadBlob, runSweep } from './lab-actions';
import { NumberField } from './NumberField';
import { anyJob, criterionLabel, currentRecord, keptBlocks, planKey, protectProblem, useLab } from './store';

const FrontierChart = lazy(() => import('./FrontierChart'));

const blocksText = (removed: readonly number[]) => (removed.length ? removed.join(', ') : 'none (original)');

/**
 * The quality-speed frontier: every computed criterion's plan for k = 0..K, its held-out
 * perplexity against its ideal speedup; a click on a point makes it the current plan.
 */
export function FrontierPanel() {
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const model = useLab((s) => s.model);
  const record = useLab(currentRecord);
  const busy = useLab(anyJob);
  const [hover, setHover] = useState<FrontierPick | null>(null);
  const sweep = record.frontier?.sweep;
  const axis = settings.frontierX;
  const data = useMemo(() => (sweep ? frontierData(sweep, axis) : null), [sweep, axis]);
  const current = sweep && data ? pointOf(sweep, data, axis, record.plan.removed) : null;
  const rows = useMemo(() => (sweep ? sweepRows(sweep) : []), [sweep]);
  const L = model?.numLayers ?? 0;
  const computed = Object.keys(record.scores?.results ?? {}).length;
  const protectError = protectProblem(settings.protectText);
  const speed = record.speed?.results;
  const full = speed?.[planKey(keptBlocks(L, []))];
  const measured = (removed: number[]) => {
    const r = speed?.[planKey(keptBlocks(L, removed))];
    return full && r ? `${(r.decodeTokensPerS / full.decodeTokensPerS).toFixed(2)}×` : '–';
  };
  const pick = (line: FrontierPick['line'], removed: number[]) =>
    useLab.getState().applyPlan({ removed, criterion: removed.length ? line.criterion : 'manual', protect: sweep!.protect });
  const curKey = record.plan.removed.join(',');
  return (
    <section className="panel" aria-labelledby="frontier-h" data-testid="frontier-panel">
      <h2 id="frontier-h">Frontier</h2>
      <div className="row">
        <NumberField label="Windows per plan" value={settings.frontierWindows} min={1} max={100000} onChange={(frontierWindows) => update({ frontierWindows })} testId="frontier-windows" />
        <NumberField label="Max k (0 = half)" value={settings.frontierMaxK} min={0} max={Math.max(0, L - 1)} onChange={(frontierMaxK) => update({ frontierMaxK })} testId="frontier-max-k" />
        <label>
          x axis{' '}
          <select value={axis} onChange={(e) => update({ frontierX: e.target.value as 'speedup' | 'removed' })} data-testid="frontier-axis">
            <option value="speedup">ideal speedup</option>
            <option value="removed">blocks removed</option>
          </select>
        </label>
        <button type="button" className="primary" disabled={!model || busy || computed === 0 || !!protectError} onClick={() => void runSweep()} data-testid="run-sweep">Sweep</button>
      </div>
      <p className="muted">
        {computed === 0 ? 'Compute a criterion first (Criteria panel). ' : ''}
        For every computed criterion and k = 0..K, the blocks its selection removes (protected set applied), evaluated on the Evaluate panel's text, window and BOS mode. A plan several criteria pick is evaluated once, from its first removed block; plans evaluated before under the same settings are reused.
      </p>
      <JobProgress jobKey="sweep" label="Sweep" />
      <ErrorNote jobKey="sweep" />
      {sweep && data && (
        <>
          <Suspense fallback={<div className="frontier-chart muted">Loading chart…</div>}>
            <FrontierChart data={data} axis={axis} current={current} onHover={setHover} onPick={(p) => pick(p.line, p.line.removed[p.index]!)} />
          </Suspense>
          <p className="muted" data-testid="frontier-hover">
            {hover ? `${hover.line.label}, k = ${hover.line.removed[hover.index]!.length}: removes ${blocksText(hover.line.removed[hover.index]!)}, PPL ${hover.line.ppl[hover.index]?.toFixed(2) ?? '–'} (click to make it the current plan)` : 'Point at a line for the blocks it removes; click to make that plan the current one.'}
            {current ? '' : ' The current plan is not on the frontier.'}
          </p>
          <table className="results" data-testid="frontier-table">
            <caption className="muted">
              {sweep.textName}, {sweep.windows} windows of {sweep.window} tokens, BOS {sweep.bos}; {sweep.plans.length} distinct plans, {sweep.plans.filter((p) => p.cached).length} reused; block runs {sweep.blockRuns} (plain evaluation: {sweep.blockRunsWithoutReuse}); {sweep.seconds.toFixed(1)} s
              {' '}
              <button type="button" onClick={() => downloadBlob(new Blob([sweepCsv(rows)], { type: 'text/csv' }), `${(model?.name || 'model').replace(/[^\w.-]+/g, '_')}.frontier.csv`)} data-testid="frontier-csv">Download CSV</button>
            </caption>
            <thead><tr><th scope="col">Criterion</th><th scope="col">k</th><th scope="col">Removed</th><th scope="col">PPL</th><th scope="col">Ideal speedup</th><th scope="col" title="Where the Speed panel measured this plan">Measured</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.criterion}-${r.k}`} className={r.removed.join(',') === curKey ? 'current' : ''}>
                  <th scope="row">{criterionLabel(r.criterion)}</th>
                  <td>{r.k}</td>
                  <td>{r.removed.join(', ') || '–'}</td>
                  <td>{Number.isFinite(r.ppl) ? r.ppl.toFixed(2) : '–'}</td>
                  <td>{r.idealSpeedup.toFixed(2)}×</td>
                  <td>{measured(r.removed)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {sweep.lines.filter((l) => l.stopped).map((l) => <p key={l.criterion} className="muted">{criterionLabel(l.criterion)} stops at k = {l.points.length - 1}: {l.stopped}</p>)}
        </>
      )}
    </section>
  );
}
