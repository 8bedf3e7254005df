import { cancelGeneration, runGeneration } from './lab-actions';
import { GenerationPane } from './GenerationPane';
import { firstReason, useFieldProblems } from './field-problems';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { anyJob, currentRecord, keptBlocks, planKey, useLab } from './store';

/** One prompt; the original, the pruned and (once healing made adapters) the healed model generate side by side, one after the other. */
export function GeneratePanel() {
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const model = useLab((s) => s.model);
  const gen = useLab((s) => currentRecord(s).generation);
  const removed = useLab((s) => currentRecord(s).plan.removed);
  const current = keptBlocks(model?.numLayers ?? 0, removed);
  const stale = gen?.pruned && !gen.pruned.running && planKey(gen.pruned.plan) !== planKey(current);
  // The job, not the panes: a pane's running flag is persisted, and a reload must not leave it set.
  const busy = useLab(anyJob);
  const fields = useFieldProblems();
  const blocked = firstReason(!model && 'Load a model first.', fields.first && `Fix ${fields.first}.`, !settings.prompt && 'Write a prompt first.');
  return (
    <section className="panel" aria-labelledby="gen-h" data-testid="generate-panel">
      <h2 id="gen-h">Generate</h2>
      <label className="field wide">
        <span>Prompt</span>
        <textarea rows={2} value={settings.prompt} onChange={(e) => update({ prompt: e.target.value })} data-testid="prompt" />
      </label>
      <div className="row">
        <NumberField label="Temperature" value={settings.temperature} min={0} max={5} step={0.1} onProblem={fields.report('temperature')} onChange={(temperature) => update({ temperature })} />
        <NumberField label="Top-k" value={settings.topK} min={0} max={64} onProblem={fields.report('top-k')} onChange={(topK) => update({ topK })} />
        <NumberField label="Top-p" value={settings.topP} min={0} max={1} step={0.05} onProblem={fields.report('top-p')} onChange={(topP) => update({ topP })} />
        <NumberField label="Repetition penalty" value={settings.repetitionPenalty} min={0.5} max={3} step={0.05} onProblem={fields.report('penalty')} onChange={(repetitionPenalty) => update({ repetitionPenalty })} testId="repetition-penalty" />
        <NumberField label="Seed" value={settings.genSeed} min={0} onProblem={fields.report('seed')} onChange={(genSeed) => update({ genSeed })} width="6rem" />
        <NumberField label="Max tokens" value={settings.maxTokens} min={1} max={2048} onProblem={fields.report('max-tokens')} onChange={(maxTokens) => update({ maxTokens })} testId="max-tokens" />
        <button type="button" className="primary" disabled={busy || blocked !== null} title={blocked ?? undefined} onClick={() => void runGeneration()} data-testid="run-generate">Generate</button>
      </div>
      {model && blocked && !busy && <p className="muted" data-testid="generate-blocked">{blocked}</p>}
      <JobProgress jobKey="generate" label="Generating" onCancel={cancelGeneration} />
      <div className="gen-panes">
        <GenerationPane title="Original" prompt={gen?.prompt ?? ''} pane={gen?.original ?? null} testId="gen-original" />
        <GenerationPane
          title={stale ? 'Pruned (an earlier plan)' : 'Pruned (current plan)'}
          prompt={gen?.prompt ?? ''}
          pane={gen?.pruned ?? null}
          testId="gen-pruned"
          {...(stale ? { note: `Generated with ${gen!.pruned!.plan.length} blocks; the current plan keeps ${current.length}: generate again to see it.` } : {})}
        />
        {gen?.healed && (
          <GenerationPane title="Pruned + LoRA (healed)" prompt={gen.prompt} pane={gen.healed} testId="gen-healed" />
        )}
      </div>
    </section>
  );
}
