import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { CrossEntropyBackward } from '../../src/kernels/backward/cross-entropy';
import { IGNORE_LABEL } from '../../src/kernels/loss';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { crossEntropyRef } from '../reference/backward-cross-entropy';

/** The kernel over all rows at once: dlogits, NLL sum and labelled-row count. */
async function runWhole(rt: Awaited<ReturnType<typeof testRuntime>>, z: Float32Array, labels: Uint32Array, rows: number, V: number) {
  const logits = uploadBuffer(rt.device, z, 'logits');
  const loss = poisonedF32(rt, 2, 'loss');
  const op = new CrossEntropyBackward(rt, { rows, V, logits, labels: uploadBuffer(rt.device, labels, 'labels'), loss });
  runPass(rt, (pass) => op.encode(pass));
  const dz = await readF32(rt.device, logits, rows * V);
  const [nllSum, count] = await readF32(rt.device, loss, 2);
  return { dz, nllSum: nllSum!, count: count! };
}

describe('backward cross-entropy kernel (fused mean NLL + dlogits, in place)', () => {
  // [batch, T, vocab, logit scale]: the large scale checks stability (logits ~ +-3e4, exp overflows
  // without the max shift).
  const cases: [number, number, number, number][] = [[1, 2, 5, 1], [3, 7, 257, 3], [2, 33, 1000, 10], [2, 5, 300, 3e4]];
  for (const [B, T, V, scale] of cases) {
    it(`B=${B} T=${T} V=${V} logit scale ${scale}`, async () => {
      const rt = await testRuntime();
      const rows = B * T;
      const { normal, uniform } = seededRandom(`backward-cross-entropy ${B}x${T}x${V}`);
      const z = randomArray(rows * V, normal, scale);
      // next-token labels, last position of each sequence ignored, plus one out-of-range label
      const labels = new Uint32Array(rows);
      for (let r = 0; r < rows; r++) labels[r] = r % T === T - 1 ? IGNORE_LABEL : Math.floor(uniform() * V);
      if (rows > 4) labels[1] = V + 3;
      const { dz, nllSum, count } = await runWhole(rt, z, labels, rows, V);
      expect(firstNonFinite(dz)).toBe(-1);
      const ref = crossEntropyRef(z, labels, rows, V);
      const errDz = relativeError(dz, ref.dz);
      const errLoss = Math.abs(nllSum - ref.nllSum) / ref.nllSum;
      console.log(`dlogits rel err ${errDz.toExponential(2)}, NLL sum rel err ${errLoss.toExponential(2)}`);
      expect(count).toBe(ref.count);
      expect(errDz).toBeLessThan(1e-5);
      // NLL = lse - z[label]: at logit scale s the absolute f32 error is ~ s * 2^-24 per row, and
      // the NLL itself is ~ s, so the relative bound stays ~1e-6 whatever the scale.
      expect(errLoss).toBeLessThan(1e-5);
    });
  }

  it('prompt masks (labels ignored at the start of each sequence, as -100 in transformers): the mean is over the labelled rows only', async () => {
    const rt = await testRuntime();
    const [B, T, V] = [3, 11, 97];
    const rows = B * T;
    const { normal, uniform } = seededRandom('backward-cross-entropy prompt mask');
    const z = randomArray(rows * V, normal, 2);
    const labels = new Uint32Array(rows);
    const prompt = [4, 9, 0]; // sequence 1: only its last label counts; sequence 2: none masked
    for (let r = 0; r < rows; r++) labels[r] = r % T === T - 1 || r % T < prompt[Math.floor(r / T)]! ? IGNORE_LABEL : Math.floor(uniform() * V);
    const { dz, nllSum, count } = await runWhole(rt, z, labels, rows, V);
    const ref = crossEntropyRef(z, labels, rows, V);
    expect(count).toBe((T - 1 - 4) + (T - 1 - 9) + (T - 1));
    expect(count).toBe(ref.count);
    expect(relativeError(dz, ref.dz)).toBeLessThan(1e-5);
    expect(Math.abs(nllSum / count - ref.loss) / ref.loss).toBeLessThan(1e-5);
    // masked rows get no gradient
    for (let i = 0; i < 4 * V; i++) expect(dz[i]).toBe(0);
  });

  it('row chunks: global label count, loss accumulated over chunks', async () => {
    const rt = await testRuntime();
    const [B, T, V] = [3, 5, 131];
    const rows = B * T;
    const { normal, uniform } = seededRandom('backward-cross-entropy chunks');
    const z = randomArray(rows * V, normal, 2);
    const labels = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) labels[r] = r % T === T - 1 ? IGNORE_LABEL : Math.floor(uniform() * V);
    const labelBuf = uploadBuffer(rt.device, labels, 'labels');
    const loss = poisonedF32(rt, 2, 'loss');
    const split = 6;
    const chunks = [[0, split], [split, rows - split]] as const;
    const bufs = chunks.map(([r0, n]) => uploadBuffer(rt.device, z.subarray(r0 * V, (r0 + n) * V), `logits ${r0}`));
    const ops = chunks.map(([r0, n], i) => new CrossEntropyBackward(rt, {
      rows: n, V, logits: bufs[i]!, labels: labelBuf, loss, rowOffset: r0, totalRows: rows, accumulateLoss: i > 0,
    }));
    runPass(rt, (pass) => ops.forEach((op) => op.encode(pass)));
    const dz = new Float32Array(rows * V);
    for (const [i, [r0, n]] of chunks.entries()) dz.set(await readF32(rt.device, bufs[i]!, n * V), r0 * V);
    const [nllSum, count] = await readF32(rt.device, loss, 2);
    const ref = crossEntropyRef(z, labels, rows, V);
    expect(count).toBe(ref.count);
    expect(relativeError(dz, ref.dz)).toBeLessThan(1e-5);
    expect(Math.abs(nllSum! - ref.nllSum) / ref.nllSum).toBeLessThan(1e-5);
  });
});
