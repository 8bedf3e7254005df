import { lazy, Suspense, useState } from 'react';
import { canPickDirectory } from '../browser/directory-sink';
import { ErrorNote } from './ErrorNote';
import { firstReason, useFieldProblems } from './field-problems';
import { fmtPpl, fmtRate } from './format';
import { cancelHeal, exportAdapter, pauseHeal, resumeHeal, startHeal } from './heal-actions';
import { EMBEDDED_HEAL, SEED_HEAL } from './heal-presets';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { anyJob, currentRecord, keptBlocks, planKey, useLab, type HealUiSettings } from './store';
import { TextSourcePicker } from './TextSourcePicker';

const HealChart = lazy(() => import('./HealChart'));

/**
 * LoRA healing of the current plan (src/heal/): settings with presets, the training text, start /
 * pause / resume / cancel, progress, the loss and held-out PPL curve, and the PEFT adapter export.
 */
export function HealPanel() {
  const model = useLab((s) => s.model);
  const h = useLab((s) => s.settings.heal);
  const update = useLab((s) => s.updateSettings);
  const record = useLab(currentRecord);
  const busy = useLab(anyJob);
  const running = useLab((s) => !!s.jobs.heal);
  const fields = useFieldProblems();
  const [exported, setExported] = useState<string[]>([]);
  const run = record.heal;
  const set = (patch: Partial<HealUiSettings>) => update({ heal: { ...h, ...patch } });
  const current = keptBlocks(model?.numLayers ?? 0, record.plan.removed);
  const textOk = h.text.kind === 'embedded' || h.text.text.trim().length > 0;
  const blocked = firstReason(
    !model && 'Load a model first.', fields.first && `Fix ${fields.first}.`, !textOk && 'The training text is empty: paste or upload some text.',
    record.plan.removed.length === 0 && 'Remove some blocks first: healing repairs a pruned model.',
  );
  const stale = run && planKey(run.plan) !== planKey(current);
  const num = (label: string, key: keyof HealUiSettings, o: { min?: number; max?: number; step?: number; whole?: boolean } = {}) => (
    <NumberField label={label} value={h[key] as number} {...o} onChange={(v) => set({ [key]: v })} onProblem={fields.report(`heal-${key}`)} testId={`heal-${key}`} />
  );
  const lastLoss = run?.losses[run.losses.length - 1];
  return (
    <section className="panel" aria-labelledby="heal-h" data-testid="heal-panel">
      <h2 id="heal-h">Heal (LoRA)</h2>
      <p className="muted">Trains LoRA adapters on every kept block's q, k, v, o, gate, up and down (the base weights stay frozen), to win back what the cut cost. Held-out PPL is measured on the Evaluate panel's text before and after.</p>
      <div className="row">
        <button type="button" onClick={() => update({ heal: { ...h, ...EMBEDDED_HEAL } })} data-testid="heal-preset-embedded">Defaults for the embedded model</button>
        <button type="button" onClick={() => update({ heal: { ...h, ...SEED_HEAL } })} data-testid="heal-preset-seed">Seed recipe</button>
      </div>
      <div className="row">
        {num('r', 'r', { min: 1, max: 256 })}
        {num('alpha', 'alpha', { min: 0, step: 1, whole: false })}
        {num('Dropout', 'dropout', { min: 0, max: 0.95, step: 0.05 })}
        {num('Learning rate', 'lr', { min: 0, max: 1, step: 1e-4 })}
        {num('Warm-up steps', 'warmupSteps', { min: 0 })}
      </div>
      <div className="row">
        {num('Epochs (0 = use steps)', 'epochs', { min: 0, max: 100 })}
        {num('Steps', 'steps', { min: 1 })}
        {num('Micro-batch', 'batch', { min: 1, max: 64 })}
        {num('Accumulation', 'micro', { min: 1, max: 256 })}
        {num('Tokens per sequence', 'window', { min: 2, max: 4096 })}
        {num('Seed', 'seed', { min: 0 })}
        {num('Held-out windows', 'heldoutWindows', { min: 1, max: 1024 })}
      </div>
      <p className="muted">Effective batch {h.batch * h.micro} sequences of {h.window} tokens ({h.batch} × {h.micro} accumulated){h.epochs > 0 ? `; ${h.epochs} epochs over the text's windows` : `; ${h.steps} optimizer steps`}.</p>
      <TextSourcePicker legend="Training text" embeddedLabel="embedded KJV training split" value={h.text} onChange={(text) => set({ text })} />
      <div className="row">
        <button type="button" className="primary" disabled={busy || blocked !== null} title={blocked ?? undefined} onClick={() => void startHeal()} data-testid="heal-start">Start healing</button>
        {running && <button type="button" onClick={pauseHeal} data-testid="heal-pause">Pause</button>}
        {!running && (run?.status === 'paused' || run?.status === 'failed') && (
          <button type="button" className="primary" disabled={busy || !model} onClick={() => void resumeHeal()} data-testid="heal-resume">Resume at step {run.step + 1}</button>
        )}
      </div>
      {model && blocked && !busy && <p className="muted" data-testid="heal-blocked">{blocked}</p>}
      <JobProgress jobKey="heal" label="Healing" onCancel={cancelHeal} />
      <ErrorNote jobKey="heal" />
      {run && (
        <div data-testid="heal-run">
          <p data-testid="heal-status">
            <strong>{run.status === 'running' ? 'Training' : run.status === 'paused' ? 'Paused' : run.status === 'done' ? 'Done' : run.status === 'cancelled' ? 'Cancelled' : 'Failed'}</strong>
            {` · step ${run.step}${run.total ? ` of ${run.total}` : ''}`}
            {lastLoss !== undefined ? ` · loss ${lastLoss.toFixed(4)}` : ''}
            {run.tokensPerS ? ` · ${fmtRate(run.tokensPerS)} training tokens/s` : ''}
            {` · ${run.plan.length} blocks`}
          </p>
          {run.message && <p className={run.status === 'failed' ? 'error-text' : 'muted'} data-testid="heal-message">{run.message}</p>}
          {stale && <p className="warning" data-testid="heal-stale">These adapters were trained for an earlier plan ({run.plan.length} blocks); Generate and Speed use them on that plan.</p>}
          {run.ppl.length > 0 && (
            <p data-testid="heal-ppl">Held-out PPL: {run.ppl.map((p) => `${p.step === 0 ? 'pruned' : `step ${p.step}`} ${fmtPpl(p.ppl)}`).join(' → ')}</p>
          )}
          {(run.losses.length > 0 || run.ppl.length > 0) && (
            <Suspense fallback={<div className="speed-chart muted">Loading chart…</div>}>
              <HealChart losses={run.losses} ppl={run.ppl} />
            </Suspense>
          )}
          {run.step > 0 && (
            <div className="row">
              <button type="button" disabled={running} onClick={() => void exportAdapter(false).then(setExported)} data-testid="heal-download">Download PEFT adapter</button>
              {canPickDirectory() && <button type="button" disabled={running} onClick={() => void exportAdapter(true).then(setExported)} data-testid="heal-save-folder">Save adapter to a folder…</button>}
              {exported.length > 0 && <span data-testid="heal-exported">Saved: {exported.join(', ')}</span>}
            </div>
          )}
        </div>
      )}
    </section>
  );
}
