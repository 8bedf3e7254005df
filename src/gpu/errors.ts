/** Typed GPU failures, so callers can tell bad input (validation) from resource exhaustion. */
export class GpuError extends Error {
  constructor(message: string, readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'unavailable' | 'lost') {
    super(message);
    this.name = 'GpuError';
  }
}

/**
 * Runs `fn` inside validation, out-of-memory and internal error scopes and throws the first
 * error as a GpuError labelled with `label`. Errors raised asynchronously by the device
 * are otherwise only logged, which hides wrong results.
 */
export async function withErrorScope<T>(device: GPUDevice, label: string, fn: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const [validation, oom, internal] = await Promise.all([
      device.popErrorScope(),
      device.popErrorScope(),
      device.popErrorScope(),
    ]);
    const first = validation ?? oom ?? internal;
    if (first) {
      const kind = validation ? 'validation' : oom ? 'out-of-memory' : 'internal';
      // eslint-disable-next-line no-unsafe-finally -- the GPU error is the real cause
      throw new GpuError(`${label}: ${kind} error: ${first.message}`, kind);
    }
  }
  return result;
}
