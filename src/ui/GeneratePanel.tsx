import { cancelGeneration, runGeneration } from './lab-actions';
import { GenerationPane } from './GenerationPane';
import { JobProgress } from './JobProgress';
import { NumberField } from './NumberField';
import { anyJob, currentRecord, useLab } from './store';

/** One prompt; the original and the pruned model generate side by side (one after the other). */
export function GeneratePanel() {
  const settings = useLab((s) => s.settings);
  const update = useLab((s) => s.updateSettings);
  const model = useLab((s) => s.model);
  const gen = useLab((s) => currentRecord(s).generation);
  // The job, not the panes: a pane's running flag is persisted, and a reload must not leave it set.
  const busy = useLab(anyJob);
  return (
    <section className="panel" aria-labelledby="gen-h" data-testid="generate-panel">
      <h2 id="gen-h">Generate</h2>
      <label className="field wide">
        <span>Prompt</span>
        <textarea rows={2} value={settings.prompt} onChange={(e) => update({ prompt: e.target.value })} data-testid="prompt" />
      </label>
      <div className="row">
        <NumberField label="Temperature" value={settings.temperature} min={0} max={5} step={0.1} onChange={(temperature) => update({ temperature })} />
        <NumberField label="Top-k" value={settings.topK} min={0} max={64} onChange={(topK) => update({ topK })} />
        <NumberField label="Top-p" value={settings.topP} min={0} max={1} step={0.05} onChange={(topP) => update({ topP })} />
        <NumberField label="Repetition penalty" value={settings.repetitionPenalty} min={0.5} max={3} step={0.05} onChange={(repetitionPenalty) => update({ repetitionPenalty })} testId="repetition-penalty" />
        <NumberField label="Seed" value={settings.genSeed} min={0} onChange={(genSeed) => update({ genSeed })} width="6rem" />
        <NumberField label="Max tokens" value={settings.maxTokens} min={1} max={2048} onChange={(maxTokens) => update({ maxTokens })} testId="max-tokens" />
        <button type="button" className="primary" disabled={!model || busy || !settings.prompt} onClick={() => void runGeneration()} data-testid="run-generate">Generate</button>
      </div>
      <JobProgress jobKey="generate" label="Generating" onCancel={cancelGeneration} />
      <div className="gen-panes">
        <GenerationPane title="Original" prompt={gen?.prompt ?? ''} pane={gen?.original ?? null} testId="gen-original" />
        <GenerationPane title="Pruned (current plan)" prompt={gen?.prompt ?? ''} pane={gen?.pruned ?? null} testId="gen-pruned" />
      </div>
    </section>
  );
}
