/** Number formats used across the panels. */
export const fmtPpl = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '∞' : v.toFixed(2));
export const fmtRate = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(1));

/** "min–max" of per-run rates, or '' for fewer than two runs (results saved before runs were kept have none). */
export const fmtRange = (runs: readonly number[] | undefined) =>
  runs && runs.length > 1 ? `${fmtRate(Math.min(...runs))}–${fmtRate(Math.max(...runs))}` : '';

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** A score for a tooltip: 4 significant digits. */
export const fmtScore = (v: number | null) => (v == null ? 'not scored' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toPrecision(4)).toString());

/** What the engine calls a text ("embedded:kjv-calib.txt") as the page describes it. */
export function textLabel(name: string): string {
  const embedded: Record<string, string> = {
    'embedded:kjv-calib.txt': 'the embedded KJV calibration split',
    'embedded:kjv-heldout.txt': 'the embedded KJV held-out split',
  };
  return embedded[name] ?? (name.startsWith('embedded:') ? `the embedded text ${name.slice('embedded:'.length)}` : name);
}

export const fmtDuration = (s: number) => (s < 90 ? `${Math.max(1, Math.round(s))} s` : `${Math.round(s / 60)} min`);
