import { useState } from 'react';
import { exportCheckpoint } from './lab-actions';
import { ErrorNote } from './ErrorNote';
import { JobProgress } from './JobProgress';
import { buildCurrentMask, downloadMask, importMaskText } from './mask-actions';
import { anyJob, useLab } from './store';

/** Download the mask, import one, download the pruned checkpoint. */
export function ExportPanel() {
  const model = useLab((s) => s.model);
  const message = useLab((s) => s.maskMessage);
  const toF16 = useLab((s) => s.settings.toF16);
  const update = useLab((s) => s.updateSettings);
  const busy = useLab(anyJob);
  const [exported, setExported] = useState<string[]>([]);
  const onImport = async (file: File | undefined) => {
    if (!file) return;
    await importMaskText(await file.text(), file.name);
  };
  const onExport = async () => {
    let mask;
    try {
      mask = await buildCurrentMask();
    } catch (err) {
      mask = undefined;
      useLab.getState().setMaskMessage({ kind: 'error', text: `pruning_mask.json is left out of the checkpoint: ${err instanceof Error ? err.message : String(err)}` });
    }
    setExported(await exportCheckpoint(mask));
  };
  return (
    <section className="panel" aria-labelledby="export-h" data-testid="export-panel">
      <h2 id="export-h">Export / import</h2>
      <div className="row">
        <button type="button" className="primary" disabled={!model} onClick={() => void downloadMask()} data-testid="download-mask">Download mask (JSON)</button>
        <label className="field file-field">
          <span>Import a mask</span>
          <input type="file" accept=".json,application/json" disabled={!model} onChange={(e) => { void onImport(e.target.files?.[0]); e.target.value = ''; }} data-testid="import-mask" />
        </label>
      </div>
      {message && (
        <div className={message.kind === 'error' ? 'mask-message error-text' : 'mask-message'} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="mask-message">
          <p>{message.text}</p>
          {message.issues && message.issues.length > 0 && <ul data-testid="mask-issues">{message.issues.map((i, n) => <li key={n}><code>{i}</code></li>)}</ul>}
        </div>
      )}
      <div className="row">
        <label><input type="checkbox" checked={toF16} onChange={(e) => update({ toF16: e.target.checked })} /> convert weights to F16</label>
        <button type="button" disabled={!model || busy} onClick={() => void onExport()} data-testid="export-checkpoint">Download pruned checkpoint</button>
      </div>
      <p className="muted">The checkpoint comes as separate downloads (config.json, safetensors, tokenizer files, pruning_mask.json): put them in one folder. Your browser may ask to allow multiple downloads.</p>
      <JobProgress jobKey="export" label="Exporting" />
      <ErrorNote jobKey="export" />
      {exported.length > 0 && <p data-testid="exported-files">Downloaded: {exported.join(', ')}</p>}
    </section>
  );
}
