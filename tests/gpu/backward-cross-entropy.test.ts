import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { CrossEntropyBackward, IGNORE_LABEL } from '../../src/kernels/backward/crossEntropy';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { crossEntropyRef } from '../reference/backward-cross-entropy';

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
      const logits = uploadBuffer(rt.device, z, 'logits');
      const loss = poisonedF32(rt, 2, 'loss');
      const op = new CrossEntropyBackward(rt, { rows, vocab: V, logits, labels: uploadBuffer(rt.device, labels, 'labels'), loss });
      runPass(rt, (pass) => op.encode(pass));
      const dz = await readF32(rt.device, logits, rows * V);
      const [nllSum, count] = await readF32(rt.device, loss, 2);
      expect(firstNonFinite(dz)).toBe(-1);
      const ref = crossEntropyRef(z, labels, rows, V);
      const errDz = relativeError(dz, ref.dz);
      const errLoss = Math.abs(nllSum! - ref.nllSum) / ref.nllSum;
      console.log(`dlogits rel err ${errDz.toExponential(2)}, NLL sum rel err ${errLoss.toExponential(2)}`);
      expect(count).toBe(ref.count);
      expect(errDz).toBeLessThan(1e-5);
      // NLL = lse - z[label]: at logit scale s the absolute f32 error is ~ s * 2^-24 per row, and
      // the NLL itself is ~ s, so the relative bound stays ~1e-6 whatever the scale.
      expect(errLoss).toBeLessThan(1e-5);
    });
  }
});
