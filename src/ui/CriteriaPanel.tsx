import { BosSelect } from './BosSelect';
import { runScoring } from './lab-actions';
import { ErrorNote } from './ErrorNote';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { ScoreCacheButton } from './ScoreCacheButton';
import { criterion, CRITERION_IDS } from '../prune/criteria/registry';
import { anyJob, criterionLabel, currentRecord, protectedBlocks, protectProblem, useLab, type StoredCriterion } from './store';
import { TextSourcePicker } from './TextSourcePicker';

/** A computed criterion's check mark; a cached result says so and keeps its original compute time. */
function DoneMark({ result }: { result: StoredCriterion }) {
  const time = `computed in ${result.seconds.toFixed(1)} s`;
  return (
    <span className="done-mark" title={result.cached ? `from the score cache (${time})` : time} data-testid={`done-${result.criterion}`}>
      {result.cached ? ' ✓ cached' : ' ✓'}
    </span>
  );
}

/** Which criteria to compute and on what calibration set; runs the scoring job. */
export function CriteriaPanel() {
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const model = useLab((s) => s.model);
  const busy = useLab(anyJob);
  const scores = useLab((s) => currentRecord(s).scores);
  const protectError = protectProblem(settings.protectText);
  const L = model?.numLayers ?? 0;
  const toggle = (c: (typeof CRITERION_IDS)[number]) =>
    update({ criteria: settings.criteria.includes(c) ? settings.criteria.filter((x) => x !== c) : CRITERION_IDS.filter((x) => x === c || settings.criteria.includes(x)) });
  const calibrationOk = settings.calibration.kind === 'embedded' || settings.calibration.text.trim().length > 0;
  return (
    <section className="panel" aria-labelledby="criteria-h" data-testid="criteria-panel">
      <h2 id="criteria-h">Criteria</h2>
      <fieldset>
        <legend>Compute</legend>
        <div className="checks">
          {CRITERION_IDS.map((c) => (
            <label key={c} title={criterion(c).hint}>
              <input type="checkbox" checked={settings.criteria.includes(c)} onChange={() => toggle(c)} data-testid={`criterion-${c}`} />
              <span className="swatch" style={{ background: criterion(c).color }} />
              {criterionLabel(c)}
              {scores?.results[c] && <DoneMark result={scores.results[c]!} />}
            </label>
          ))}
        </div>
      </fieldset>
      <TextSourcePicker legend="Calibration text" embeddedLabel="embedded KJV calibration split" value={settings.calibration} onChange={(calibration) => update({ calibration })} />
      <div className="row">
        <NumberField label="N samples" value={settings.n} min={1} max={256} onChange={(n) => update({ n })} testId="cal-n" />
        <NumberField label="T tokens" value={settings.t} min={2} max={4096} onChange={(t) => update({ t })} testId="cal-t" />
        <NumberField label="Seed" value={settings.seed} min={0} onChange={(seed) => update({ seed })} testId="cal-seed" width="6rem" />
        <BosSelect value={settings.bos} onChange={(bos) => update({ bos })} firstLabel="first (document start, seed)" everyLabel="every sample" />
        <label className="field">
          <span>Protected blocks</span>
          <input value={settings.protectText} onChange={(e) => update({ protectText: e.target.value })} aria-invalid={!!protectError} data-testid="protect" style={{ width: '10rem' }} />
        </label>
      </div>
      {protectError ? <p className="error-text" role="alert">{protectError}</p>
        : model && <p className="muted">Protected: {protectedBlocks(settings.protectText, L).join(', ') || 'none'}{protectedBlocks(settings.protectText, L).length > L / 2 ? ' — more than half of this model: the “+” rule is strong for a small model.' : ''}</p>}
      {scores?.calibration && <p className="muted" data-testid="calibration-used">Scores computed on {scores.calibration.description}: N={scores.calibration.n} × T={scores.calibration.t}, seed {scores.calibration.seed}, BOS {scores.calibration.bos}.</p>}
      <div className="row">
        <button type="button" className="primary" disabled={!model || busy || settings.criteria.length === 0 || !!protectError || !calibrationOk} onClick={() => void runScoring()} data-testid="run-scoring">
          Compute scores
        </button>
        <ScoreCacheButton />
      </div>
      <JobProgress jobKey="score" label="Scoring" />
      <ErrorNote jobKey="score" />
    </section>
  );
}
