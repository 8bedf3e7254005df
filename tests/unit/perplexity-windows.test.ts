/** windowCount agrees with the windows evaluationWindows cuts, for both BOS modes and awkward lengths. */
import { describe, expect, it } from 'vitest';
import { evaluationWindows, windowCount } from '../../src/eval/perplexity';

describe('windowCount', () => {
  it('counts exactly the windows evaluationWindows cuts (before any limit)', () => {
    for (const bos of ['first', 'every'] as const) {
      for (const length of [0, 1, 2, 7, 8, 9, 127, 128, 129, 1000]) {
        for (const window of [2, 3, 8, 128]) {
          const stream = Array.from({ length }, (_, i) => (i === 0 ? 1 : 5 + (i % 7)));
          const p = { window, bos };
          expect(windowCount(stream, 1, p), `${bos} ${length} ${window}`).toBe(evaluationWindows(stream, 1, p).length);
          if (windowCount(stream, 1, p) > 2) expect(evaluationWindows(stream, 1, { ...p, maxWindows: 2 })).toHaveLength(2);
        }
      }
    }
  });
});
