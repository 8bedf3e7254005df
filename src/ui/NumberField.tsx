/** A labelled number input that reports only valid numbers. */
export function NumberField({ label, value, onChange, min, max, step, testId, width = '5rem' }: {
  label: string; value: number; onChange: (v: number) => void; min?: number; max?: number; step?: number; testId?: string; width?: string;
}) {
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        value={Number.isFinite(value) ? value : ''}
        min={min}
        max={max}
        step={step ?? 1}
        style={{ width }}
        data-testid={testId}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (Number.isFinite(v)) onChange(v);
        }}
      />
    </label>
  );
}
