import { useId, useState } from 'react';
import { documentsFromUpload } from '../prune/calibration';
import type { TextChoice } from './store';

/** A text for calibration or evaluation: the embedded one, pasted text, or an uploaded .txt/.jsonl. */
export function TextSourcePicker({ legend, embeddedLabel, value, onChange }: { legend: string; embeddedLabel: string; value: TextChoice; onChange: (v: TextChoice) => void }) {
  const id = useId();
  const [mode, setMode] = useState<'embedded' | 'pasted' | 'uploaded'>(value.kind === 'embedded' ? 'embedded' : value.name === 'pasted text' ? 'pasted' : 'uploaded');
  const [error, setError] = useState<string | null>(null);
  const pick = (m: typeof mode) => {
    setMode(m);
    if (m === 'embedded') onChange({ kind: 'embedded' });
    if (m === 'pasted') onChange({ kind: 'inline', name: 'pasted text', text: value.kind === 'inline' && value.name === 'pasted text' ? value.text : '' });
  };
  const upload = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    try {
      const content = await file.text();
      // .jsonl: one document per line's "text"; joined with blank lines (the engine's document separator).
      const text = /\.jsonl$/i.test(file.name) ? documentsFromUpload(file.name, content).join('\n\n') : content;
      onChange({ kind: 'inline', name: file.name, text });
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
          onChange={(e) => onChange({ kind: 'inline', name: 'pasted text', text: e.target.value })}
          placeholder="Paste text; blank lines separate documents"
        />
      )}
      {mode === 'uploaded' && (
        <>
          <input type="file" accept=".txt,.jsonl,text/plain" aria-label={`${legend}: upload a file`} onChange={(e) => void upload(e.target.files?.[0])} />
          {value.kind === 'inline' && value.name !== 'pasted text' && <span className="muted"> {value.name}: {value.text.length.toLocaleString()} characters</span>}
        </>
      )}
      {error && <p className="error-text" role="alert">{error}</p>}
    </fieldset>
  );
}
