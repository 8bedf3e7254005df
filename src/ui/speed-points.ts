import type { SpeedResult } from '../eval/speed';

export interface SpeedPoint {
  removed: number;
  measured: number;
  ideal: number;
  decode: number;
  /** A plan outside the sweep (the current plan at a count the sweep skips): a marker, not a point of the line. */
  offLine?: true;
}

/**
 * Speedup against blocks removed (one point per count, the full model = 1), measured and memory-bound
 * ideal. Where several plans remove the same count, the `preferred` keys (the criterion's sweep) win,
 * so the line follows the sweep whatever the current plan is; with a sweep, other plans are marked
 * offLine (drawn as markers only), so the line does not zig-zag through them.
 */
export function speedPoints(results: Record<string, SpeedResult>, numLayers: number, fullKey: string, preferred: readonly string[] = []): SpeedPoint[] {
  const full = results[fullKey];
  if (!full) return [];
  const byCount = new Map<number, SpeedPoint>();
  const ordered = [...preferred.map((k) => results[k]).filter((r) => r !== undefined), ...Object.values(results)];
  for (const r of ordered) {
    const removed = numLayers - r.blocks;
    if (byCount.has(removed)) continue;
    const onLine = preferred.length === 0 || r === full || preferred.some((k) => results[k] === r);
    byCount.set(removed, {
      removed,
      measured: r.decodeTokensPerS / full.decodeTokensPerS,
      ideal: full.weightBytesPerToken / r.weightBytesPerToken,
      decode: r.decodeTokensPerS,
      ...(onLine ? {} : { offLine: true as const }),
    });
  }
  return [...byCount.values()].sort((a, b) => a.removed - b.removed);
}
