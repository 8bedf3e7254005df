/**
 * The one ranking and the one policy for scores that are not finite numbers, used by every run,
 * selection, the page's bars and the mask: NaN, +-Infinity and null all mean "no usable score",
 * which ranks after every scored block (most important) and is written as null.
 */

/** A score as the lab keeps it: the number when finite, else null. */
export const finiteOrNull = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Block indices, least important first: ascending score, blocks without a finite score last, ties by index (stable). */
export function rankBlocks(scores: ArrayLike<number | null>): number[] {
  const key = Array.from(scores, (v) => finiteOrNull(v) ?? Infinity);
  return key.map((_, i) => i).sort((a, b) => key[a]! - key[b]! || a - b);
}
