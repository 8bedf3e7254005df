import { NumberField } from './NumberField';
import { CRITERION_IDS } from '../prune/criteria/registry';
import { criterionLabel, currentRecord, kFor, protectProblem, useLab } from './store';

/** "Prune k blocks / r%" by a criterion: the one-shot selection with the protected set. */
export function PruneControls() {
  const model = useLab((s) => s.model);
  const record = useLab(currentRecord);
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const pruneBy = useLab((s) => s.pruneBy);
  const applyPlan = useLab((s) => s.applyPlan);
  if (!model) return null;
  const L = model.numLayers;
  const computed = CRITERION_IDS.filter((c) => record.scores?.results[c]);
  const k = kFor(settings, L);
  const available = !!record.scores?.results[settings.selectCriterion];
  const protectError = protectProblem(settings.protectText);
  return (
    <div className="prune-controls">
      <div className="row">
        <label className="field">
          <span>Criterion</span>
          <select value={settings.selectCriterion} onChange={(e) => update({ selectCriterion: e.target.value as typeof settings.selectCriterion })} data-testid="select-criterion">
            {CRITERION_IDS.map((c) => <option key={c} value={c} disabled={!computed.includes(c)}>{criterionLabel(c)}{computed.includes(c) ? '' : ' (not computed)'}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Amount</span>
          <select value={settings.pruneMode} onChange={(e) => update({ pruneMode: e.target.value as 'k' | 'ratio' })} data-testid="prune-mode">
            <option value="ratio">ratio %</option>
            <option value="k">k blocks</option>
          </select>
        </label>
        {settings.pruneMode === 'ratio'
          ? <NumberField label="Ratio %" value={Math.round(settings.pruneRatio * 1000) / 10} min={0} max={100} step={5} whole={false} onChange={(v) => update({ pruneRatio: v / 100 })} testId="prune-ratio" />
          : <NumberField label="k" value={settings.pruneK} min={0} max={L - 1} onChange={(v) => update({ pruneK: v })} testId="prune-k" />}
        <button type="button" className="primary" disabled={!available || !!protectError} onClick={() => pruneBy(settings.selectCriterion, k)} data-testid="prune">
          Prune {k} block{k === 1 ? '' : 's'}
        </button>
        <button type="button" onClick={() => applyPlan({ removed: [], criterion: 'manual', protect: record.plan.protect })} disabled={record.plan.removed.length === 0} data-testid="restore-all">Keep all</button>
      </div>
      {protectError && <p className="error-text" data-testid="prune-protect-error">The protected blocks (Criteria panel) do not parse: {protectError}</p>}
      {!available && <p className="muted">Compute {criterionLabel(settings.selectCriterion)} scores (Criteria panel) to prune by it; or click blocks to drop them by hand.</p>}
      {record.plan.warning && <p className="warning" role="status" data-testid="prune-warning">{record.plan.warning}</p>}
    </div>
  );
}
