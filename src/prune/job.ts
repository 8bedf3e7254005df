/** What every long-running criterion accepts: progress reporting and cancellation. */
export interface JobOptions {
  /** Called after each unit of work (a forward pass, a block) with done/total units. */
  onProgress?: (done: number, total: number, what: string) => void;
  signal?: AbortSignal;
}

export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor() {
    super('cancelled');
  }
}

export function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** exp(mean NLL) from per-sequence sums and counts. */
export function perplexity(sums: ArrayLike<number>, counts: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < sums.length; i++) {
    s += sums[i]!;
    c += counts[i]!;
  }
  return Math.exp(s / c);
}
