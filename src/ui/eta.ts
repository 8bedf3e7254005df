/**
 * Time left for a job, shown only once its rate has settled. Early progress misleads (pipeline
 * compilation, a first slow phase: 6 minutes were shown for a job that took 26 s), so the
 * estimate uses the recent rate, and appears only when the estimates of the last few samples
 * agree with each other.
 */
export interface ProgressSample {
  /** Seconds since the job started. */
  elapsed: number;
  /** 0..1 done. */
  fraction: number;
}

/** Most recent samples used for the rate, and how close their estimates must be. */
const RECENT = 4;
const AGREEMENT = 0.25;

/** Seconds left from the recent rate, or undefined while it has not settled. */
export function settledEta(samples: readonly ProgressSample[]): number | undefined {
  if (samples.length < RECENT + 1) return undefined;
  const last = samples[samples.length - 1]!;
  if (last.fraction < 0.05 || last.fraction >= 1 || last.elapsed < 5) return undefined;
  const estimates: number[] = [];
  for (let i = samples.length - RECENT; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const rate = (b.fraction - a.fraction) / (b.elapsed - a.elapsed);
    if (!(rate > 0) || !Number.isFinite(rate)) return undefined;
    estimates.push((1 - b.fraction) / rate);
  }
  const lo = Math.min(...estimates);
  const hi = Math.max(...estimates);
  if (hi > lo * (1 + AGREEMENT) + 2) return undefined; // + 2 s: near the end, small estimates may differ by a second
  // The whole recent window's rate, for a steadier figure than the last step's.
  const first = samples[samples.length - 1 - RECENT]!;
  return (1 - last.fraction) / ((last.fraction - first.fraction) / (last.elapsed - first.elapsed));
}
