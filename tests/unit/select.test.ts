import { describe, expect, it } from 'vitest';
import { rankBlocks } from '../../src/prune/criteria/ranking';
import { blocksForRatio, resolveProtected, selectBlocks, SEED_PROTECTED } from '../../src/prune/select';

describe('block selection', () => {
  it('resolves the seed protection on 32 blocks to 0-3, 30, 31', () => {
    expect(resolveProtected(SEED_PROTECTED, 32)).toEqual([0, 1, 2, 3, 30, 31]);
  });
  it('rounds 20% of 32 blocks to 6 and 35% to 11', () => {
    expect(blocksForRatio(0.2, 32)).toBe(6);
    expect(blocksForRatio(0.35, 32)).toBe(11);
    expect(() => blocksForRatio(1.5, 32)).toThrow(RangeError);
  });
  it('removes the k lowest unprotected blocks', () => {
    const scores = [0, 1, 2, 3, 9, 5, 4, 8, 7, 6, 0.5, 0.1];
    const s = selectBlocks(scores, 3);
    expect(s.removed).toEqual([5, 6, 9]);
    expect(s.kept).toEqual([0, 1, 2, 3, 4, 7, 8, 10, 11]);
    expect(s.warning).toBeUndefined();
    expect(selectBlocks(scores, 3, []).removed).toEqual([0, 10, 11]);
  });
  it('warns when protection leaves fewer candidates than k', () => {
    const s = selectBlocks([1, 2, 3, 4, 5, 6, 7, 8], 4);
    expect(s.removed).toEqual([4, 5]);
    expect(s.warning).toMatch(/leaves 2 of 8/);
  });
  it('ranks ascending with stable ties', () => {
    expect(rankBlocks([3, 1, 1, 0])).toEqual([3, 1, 2, 0]);
  });
});
