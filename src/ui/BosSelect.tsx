import type { BosMode } from '../eval/perplexity';

/** BOS mode: the seed's "first" or "every" (sample or window), with labels for where it applies. */
export function BosSelect({ value, onChange, firstLabel, everyLabel }: { value: BosMode; onChange: (v: BosMode) => void; firstLabel: string; everyLabel: string }) {
  return (
    <label className="field">
      <span>BOS</span>
      <select value={value} onChange={(e) => onChange(e.target.value as BosMode)}>
        <option value="first">{firstLabel}</option>
        <option value="every">{everyLabel}</option>
      </select>
    </label>
  );
}
