/** The time-left estimate waits for a settled rate and then follows the recent one. */
import { describe, expect, it } from 'vitest';
import { settledEta, type ProgressSample } from '../../src/ui/eta';

/** Samples every second of a job whose progress is `fraction(t)`. */
const run = (seconds: number, fraction: (t: number) => number): ProgressSample[] =>
  Array.from({ length: seconds }, (_, i) => ({ elapsed: i + 1, fraction: Math.min(1, fraction(i + 1)) }));

describe('settledEta', () => {
  it('shows nothing early, then the recent rate (a slow first phase does not inflate it)', () => {
    // 10 s of compilation at 0.4%/s, then 5%/s: done at about 29 s.
    const f = (t: number) => (t <= 10 ? 0.004 * t : 0.04 + 0.05 * (t - 10));
    expect(settledEta(run(3, f))).toBeUndefined();
    // At 16 s the average rate would say 16 * (1 - 0.34) / 0.34 = 31 s left; the recent rate says 13.
    expect(settledEta(run(10, f))).toBeUndefined(); // still in the slow phase, under 5% done
    const at16 = settledEta(run(16, f))!;
    expect(at16).toBeCloseTo((1 - f(16)) / 0.05, 5);
  });

  it('stays hidden while the rate jumps around', () => {
    const jumpy = (t: number) => 0.02 * t + (t % 2 === 0 ? 0.03 : 0);
    expect(settledEta(run(20, jumpy))).toBeUndefined();
    expect(settledEta(run(20, (t) => 0.02 * t))).toBeCloseTo(30, 5);
  });
});
