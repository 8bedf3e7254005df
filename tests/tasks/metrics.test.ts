/** lm-eval's acc, acc_norm and mean_stderr (the seed snapshot's base.py and metrics.py). */
import { describe, expect, it } from 'vitest';
import { argmax, meanStderr, scoreItem } from '../../src/tasks/metrics';
import { multipleChoice } from '../../src/tasks/types';

describe('task metrics', () => {
  it('argmax keeps the first of equal values, as numpy', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-5])).toBe(0);
  });

  it('acc sums, acc_norm divides by the choice length in characters', () => {
    // " a" (1 char) at -3 vs " bbbbbb" (6 chars) at -6: acc picks a, acc_norm picks bbbbbb (-1 per char).
    const item = multipleChoice('ctx', ['a', 'bbbbbb'], 1);
    expect(scoreItem(item, [-3, -6], ['acc', 'acc_norm'])).toEqual({ acc: 0, acc_norm: 1 });
    expect(scoreItem(multipleChoice('ctx', ['a', 'b'], 0), [-2, -2], ['acc'])).toEqual({ acc: 1 });
  });

  it('stderr is the sample standard deviation over sqrt(n)', () => {
    const r = meanStderr([1, 0, 1, 1]);
    expect(r.value).toBe(0.75);
    expect(r.stderr).toBeCloseTo(0.25, 12);
    expect(meanStderr([1]).stderr).toBeNaN();
  });
});
