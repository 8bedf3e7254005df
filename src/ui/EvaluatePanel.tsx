import { BosSelect } from './BosSelect';
import { adapterKey } from './heal-actions';
import { healedPplKey, runPerplexity } from './lab-actions';
import { ErrorNote } from './ErrorNote';
import { firstReason, useFieldProblems } from './field-problems';
import { fmtDuration, fmtPpl, textLabel } from './format';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { anyJob, currentRecord, keptBlocks, planKey, useLab } from './store';
import { TextSourcePicker } from './TextSourcePicker';

/** Perplexity of the original and the current plan by the seed's protocol. */
export function EvaluatePanel() {
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const model = useLab((s) => s.model);
  const record = useLab(currentRecord);
  const busy = useLab(anyJob);
  const L = model?.numLayers ?? 0;
  const ppl = record.ppl;
  // The healed model's row: its adapters' state at the last stored step (the run id and step name it).
  const run = record.heal;
  const healed = run && run.step > 0 ? ppl?.results[healedPplKey({ plan: run.plan, key: adapterKey(run.runId, run.step) })] : undefined;
  const original = ppl?.results[planKey(keptBlocks(L, []))];
  const pruned = ppl?.results[planKey(keptBlocks(L, record.plan.removed))];
  const measured = pruned ?? original;
  const available = ppl && ppl.window === settings.evalWindow && ppl.bos === settings.evalBos ? measured?.windowsAvailable : undefined;
  const partial = measured?.windowsAvailable !== undefined && measured.windows < measured.windowsAvailable;
  // What "0 = all" costs: every window through the original and the current plan at the last run's rate.
  const allSeconds = available && ppl?.secondsPerBlockWindow ? available * (L + (L - record.plan.removed.length)) * ppl.secondsPerBlockWindow : undefined;
  const textOk = settings.evalText.kind === 'embedded' || settings.evalText.text.trim().length > 0;
  const fields = useFieldProblems();
  const blocked = firstReason(!model && 'Load a model first.', fields.first && `Fix ${fields.first}.`, !textOk && 'The evaluation text is empty: paste or upload some text.');
  return (
    <section className="panel" aria-labelledby="eval-h" data-testid="evaluate-panel">
      <h2 id="eval-h">Evaluate</h2>
      <TextSourcePicker legend="Evaluation text" embeddedLabel="embedded KJV held-out split" value={settings.evalText} onChange={(evalText) => update({ evalText })} />
      <div className="row">
        <NumberField label="Window" value={settings.evalWindow} min={2} max={4096} onChange={(evalWindow) => update({ evalWindow })} onProblem={fields.report('window')} testId="eval-window" />
        <BosSelect value={settings.evalBos} onChange={(evalBos) => update({ evalBos })} firstLabel="first (text start, seed)" everyLabel="every window" />
        <NumberField label={`Max windows (0 = all${available ? ` ${available}` : ''}${allSeconds !== undefined ? `, about ${fmtDuration(allSeconds)}` : ''})`} value={settings.evalMaxWindows} min={0} onChange={(evalMaxWindows) => update({ evalMaxWindows })} onProblem={fields.report('max-windows')} testId="eval-max-windows" />
        <button type="button" className="primary" disabled={busy || blocked !== null} title={blocked ?? undefined} onClick={() => void runPerplexity()} data-testid="run-ppl">Measure PPL</button>
      </div>
      {model && blocked && !busy && <p className="muted" data-testid="ppl-blocked">{blocked}</p>}
      {model && settings.evalWindow > model.maxPositionEmbeddings && (
        <p className="warning" data-testid="eval-context">A window of {settings.evalWindow} tokens is more than this model's max_position_embeddings ({model.maxPositionEmbeddings}): positions past it were never trained.</p>
      )}
      <JobProgress jobKey="ppl" label="Perplexity" />
      <ErrorNote jobKey="ppl" />
      {ppl && (original || pruned) && (
        <table className="results" data-testid="ppl-table">
          <caption className="muted">{textLabel(ppl.textName)}, window {ppl.window}, BOS {ppl.bos}{measured ? `, ${measured.windows}${measured.windowsAvailable ? ` of ${measured.windowsAvailable}` : ''} windows (${measured.predictions.toLocaleString()} predictions)` : ''}{partial ? ' — a partial measurement: set Max windows to 0 for the whole text' : ''}</caption>
          <thead><tr><th scope="col">Model</th><th scope="col">Blocks</th><th scope="col">PPL</th></tr></thead>
          <tbody>
            <tr><th scope="row">Original</th><td>{L}</td><td data-testid="ppl-original">{original ? fmtPpl(original.ppl) : '–'}</td></tr>
            <tr><th scope="row">Current plan</th><td>{L - record.plan.removed.length}</td><td data-testid="ppl-pruned">{pruned ? fmtPpl(pruned.ppl) : 'not measured yet'}</td></tr>
            {run && run.step > 0 && (
              <tr><th scope="row">Pruned + LoRA (step {run.step})</th><td>{run.plan.length}</td><td data-testid="ppl-healed">{healed ? fmtPpl(healed.ppl) : 'not measured yet'}</td></tr>
            )}
            <tr><th scope="row">Difference</th><td></td><td data-testid="ppl-diff">{original && pruned ? `${pruned.ppl >= original.ppl ? '+' : ''}${fmtPpl(pruned.ppl - original.ppl)} (${((pruned.ppl / original.ppl - 1) * 100).toFixed(1)}%)` : '–'}</td></tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
