/**
 * mulberry32: a tiny, portable 32-bit PRNG. The calibration sampler and the PyTorch fixture
 * script implement the same generator so both sides draw identical windows from a seed.
 * Returns floats uniform in [0, 1) with 32 bits of resolution.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
