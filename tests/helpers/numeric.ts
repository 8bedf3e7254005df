import { mulberry32 } from '../../src/util/random';

/** A seeded random source for a test; the seed is logged so a failure can be replayed. */
export function seededRandom(name: string): { seed: number; uniform: () => number; normal: () => number } {
  const seed = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
  console.log(`[${name}] seed=${seed} (replay with TEST_SEED=${seed})`);
  const uniform = mulberry32(seed);
  const normal = () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { seed, uniform, normal };
}

export function randomArray(n: number, normal: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = normal() * scale;
  return out;
}

/** ||out - ref|| / ||ref||, with out and ref compared in float64. */
export function relativeError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i]! - ref[i]!;
    num += d * d;
    den += ref[i]! * ref[i]!;
  }
  return Math.sqrt(num) / Math.sqrt(den || 1);
}

/** Index of the first element that is not finite (an unwritten poisoned slot), or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}
