/**
 * A block plan: the ordered original indices of the blocks a forward pass runs. The full model
 * is [0, 1, ..., L-1]; a pruned model omits the removed blocks. Weights never move when it changes.
 */
export type BlockPlan = readonly number[];

export function fullPlan(numLayers: number): number[] {
  return Array.from({ length: numLayers }, (_, i) => i);
}

export function planWithout(numLayers: number, removed: Iterable<number>): number[] {
  const drop = new Set(removed);
  return fullPlan(numLayers).filter((i) => !drop.has(i));
}

export function validatePlan(plan: BlockPlan, numLayers: number): void {
  let prev = -1;
  for (const i of plan) {
    if (!Number.isInteger(i) || i < 0 || i >= numLayers) throw new RangeError(`block ${i} is not in 0..${numLayers - 1}`);
    if (i <= prev) throw new RangeError(`block plan must be strictly increasing, got ${plan.join(',')}`);
    prev = i;
  }
}
