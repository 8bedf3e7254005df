import { useState } from 'react';

/**
 * A labelled number input that reports only valid numbers: within [min, max], and whole unless
 * told otherwise (by default, when the step is whole). While the text is not valid it is kept, marked invalid, and not
 * reported; leaving the field restores the last valid value.
 */
export function NumberField({ label, value, onChange, min, max, step = 1, whole = Number.isInteger(step), testId, width = '5rem' }: {
  label: string; value: number; onChange: (v: number) => void; min?: number; max?: number; step?: number;
  /** Accept only whole numbers (default: when the step is whole). */
  whole?: boolean; testId?: string; width?: string;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const valid = (v: number) => Number.isFinite(v) && (min === undefined || v >= min) && (max === undefined || v <= max) && (!whole || Number.isInteger(v));
  const range = `${whole ? 'a whole number' : 'a number'}${min !== undefined ? ` from ${min}` : ''}${max !== undefined ? ` to ${max}` : ''}`;
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        value={draft ?? (Number.isFinite(value) ? value : '')}
        min={min}
        max={max}
        step={step}
        style={{ width }}
        data-testid={testId}
        aria-invalid={draft !== null}
        title={draft !== null ? `${label}: ${range}` : undefined}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (valid(v)) {
            setDraft(null);
            onChange(v);
          } else setDraft(e.target.value);
        }}
        onBlur={() => setDraft(null)}
      />
    </label>
  );
}
