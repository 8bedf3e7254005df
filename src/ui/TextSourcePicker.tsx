import { useId, useState } from 'react';
import { uploadedText } from '../prune/calibration';
import type { TextChoice } from './store';

const PASTED = 'pasted text';

/**
 * A text for calibration or evaluation: the embedded one, pasted text, or an uploaded .txt/.jsonl.
 * The choice shown is read from `value` (it may be restored after the first render); choosing
 * "uploaded" before a file is picked selects an empty upload, which the panels refuse to run.
 */
export function TextSourcePicker({ legend, embeddedLabel, value, onChange }: { legend: string; embeddedLabel: string; value: TextChoice; onChange: (v: TextChoice) => void }) {
  const id = useId();
  const mode = value.kind === 'embedded' ? 'embedded' : value.name === PASTED ? 'pasted' : 'uploaded';
  const [error, setError] = useState<string | null>(null);
  const pick = (m: typeof mode) => {
    if (m === mode) return;
    if (m === 'embedded') onChange({ kind: 'embedded' });
    if (m === 'pasted') onChange({ kind: 'inline', name: PASTED, text: '' });
    if (m === 'uploaded') onChange({ kind: 'inline', name: '', text: '' });
  };
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    try {
      const content = await file.text();
      onChange({ kind: 'inline', name: file.name, text: uploadedText(file.name, content) });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <fieldset className="text-source">
      <legend>{legend}</legend>
      <div className="radios" role="radiogroup">
        {(['embedded', 'pasted', 'uploaded'] as const).map((m) => (
          <label key={m}>
            <input type="radio" name={id} checked={mode === m} onChange={() => pick(m)} />
            {m === 'embedded' ? embeddedLabel : m === 'pasted' ? 'pasted' : 'uploaded .txt / .jsonl'}
          </label>
        ))}
      </div>
      {mode === 'pasted' && (
        <textarea
          aria-label={`${legend}: pasted text`}
          rows={3}
          value={value.kind === 'inline' ? value.text : ''}
          onChange={(e) => onChange({ kind: 'inline', name: PASTED, text: e.target.value })}
          placeholder="Paste text; blank lines separate documents"
        />
      )}
      {mode === 'uploaded' && (
        <>
          <input type="file" accept=".txt,.jsonl,text/plain" aria-label={`${legend}: upload a file`} onChange={(e) => void upload(e.target.files?.[0])} />
          <span className="muted"> {value.kind === 'inline' && value.name ? `${value.name}: ${value.text.length.toLocaleString()} characters` : 'no file chosen yet'}</span>
        </>
      )}
      {error && <p className="error-text" role="alert">{error}</p>}
    </fieldset>
  );
}
