import type { SpeedResult } from '../eval/speed';

export interface SpeedPoint {
  removed: number;
  measured: number;
  ideal: number;
  decode: number;
}

/**
 * Speedup against blocks removed (one point per count, the full model = 1), measured and memory-bound
 * ideal. Where several plans remove the same count, the `preferred` keys (the criterion's sweep) win,
 * so the line follows the sweep whatever the current plan is.
 */
export function speedPoints(results: Record<string, SpeedResult>, numLayers: number, fullKey: string, preferred: readonly string[] = []): SpeedPoint[] {
  const full = results[fullKey];
  if (!full) return [];
  const byCount = new Map<number, SpeedPoint>();
  const ordered = [...preferred.map((k) => results[k]).filter((r) => r !== undefined), ...Object.values(results)];
  for (const r of ordered) {
    const removed = numLayers - r.blocks;
    if (byCount.has(removed)) continue;
    byCount.set(removed, {
      removed,
      measured: r.decodeTokensPerS / full.decodeTokensPerS,
      ideal: full.weightBytesPerToken / r.weightBytesPerToken,
      decode: r.decodeTokensPerS,
    });
  }
  return [...byCount.values()].sort((a, b) => a.removed - b.removed);
}
