import type { SpeedResult } from '../eval/speed';

export interface SpeedPoint {
  removed: number;
  measured: number;
  ideal: number;
  decode: number;
}

/** Speedup against blocks removed (one point per count, the full model = 1), measured and memory-bound ideal. */
export function speedPoints(results: Record<string, SpeedResult>, numLayers: number, fullKey: string): SpeedPoint[] {
  const full = results[fullKey];
  if (!full) return [];
  const byCount = new Map<number, SpeedPoint>();
  for (const r of Object.values(results)) {
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
