import { useEffect, useState } from 'react';

/**
 * A labelled number input that reports only valid numbers: within [min, max], and whole unless
 * told otherwise (by default, when the step is whole). Text that is not valid stays in the field,
 * marked, with what is expected beside it, also after leaving the field (never silently replaced
 * by the old value); `onProblem` tells the panel, which disables its action and says why.
 */
export function NumberField({ label, value, onChange, onProblem, min, max, step = 1, whole = Number.isInteger(step), testId, width = '5rem' }: {
  label: string; value: number; onChange: (v: number) => void; min?: number; max?: number; step?: number;
  /** The field's problem ("N samples: a whole number from 1 to 256"), or null once it is valid again. */
  onProblem?: (problem: string | null) => void;
  /** Accept only whole numbers (default: when the step is whole). */
  whole?: boolean; testId?: string; width?: string;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const valid = (v: number) => Number.isFinite(v) && (min === undefined || v >= min) && (max === undefined || v <= max) && (!whole || Number.isInteger(v));
  const range = `${whole ? 'a whole number' : 'a number'}${min !== undefined ? ` from ${min}` : ''}${max !== undefined ? ` to ${max}` : ''}`;
  const problem = draft !== null ? `${label}: ${range}` : null;
  useEffect(() => {
    onProblem?.(problem);
  }, [problem]);
  // A field that goes away (another amount mode, a closed panel) withdraws its problem.
  useEffect(() => () => {
    onProblem?.(null);
  }, []);
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
        title={problem ?? undefined}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (valid(v)) {
            setDraft(null);
            onChange(v);
          } else setDraft(e.target.value);
        }}
      />
      {problem && <span className="field-error" data-testid={testId ? `${testId}-problem` : undefined}>{range}</span>}
    </label>
  );
}
