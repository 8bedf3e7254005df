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
