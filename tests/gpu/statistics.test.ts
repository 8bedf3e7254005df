import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readF32, uploadBuffer, writeBuffer } from '../../src/gpu/buffers';
import { AbsSum, RowCosine } from '../../src/kernels/statistics';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';

describe('statistics kernels', () => {
  for (const [rows, cols, f16] of [[3, 5, false], [37, 129, true], [300, 257, false], [211, 300, true]] as const) {
    it(`abs_sum of a ${rows}x${cols} ${f16 ? 'f16' : 'f32'} weight`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`abs_sum ${rows}x${cols}`);
      const w = randomArray(rows * cols, normal);
      const ref = (f16 ? roundToF16(w) : Float64Array.from(w)).reduce((s, v) => s + Math.abs(v), 0);
      const scores = createStorageBuffer(rt.device, 16, 'scores');
      writeBuffer(rt.device, scores, new Float32Array([NaN, NaN, NaN, NaN]));
      const buffer = uploadBuffer(rt.device, f16 ? packF16(w) : w, 'w');
      const op = new AbsSum(rt, { name: 'w', buffer, dtype: f16 ? 'f16' : 'f32', shape: [rows, cols] }, scores, 2);
      runPass(rt, (p) => op.encode(p));
      const out = await readF32(rt.device, scores, 4);
      expect(Math.abs(out[2]! - ref) / ref).toBeLessThan(1e-6);
      expect(Number.isNaN(out[0]!)).toBe(true); // other slots untouched
    });
  }

  for (const [rows, dim] of [[1, 7], [33, 192], [130, 1000]]) {
    it(`row_cosine over ${rows} rows of ${dim}`, async () => {
      const rt = await testRuntime();
      const { normal } = seededRandom(`row_cosine ${rows}x${dim}`);
      const a = randomArray(rows * dim, normal);
      const b = randomArray(rows * dim, normal);
      for (let i = 0; i < a.length; i += 3) b[i] = a[i]! * 2; // correlated rows: cosines away from 0
      const ref = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        let d = 0, na = 0, nb = 0;
        for (let i = r * dim; i < (r + 1) * dim; i++) {
          d += a[i]! * b[i]!;
          na += a[i]! ** 2;
          nb += b[i]! ** 2;
        }
        ref[r] = d / Math.sqrt(na * nb);
      }
      const out = poisonedF32(rt, rows);
      const op = new RowCosine(rt, rows, dim, uploadBuffer(rt.device, a, 'a'), uploadBuffer(rt.device, b, 'b'), out);
      runPass(rt, (p) => op.encode(p));
      const got = await readF32(rt.device, out, rows);
      expect(firstNonFinite(got)).toBe(-1);
      expect(relativeError(got, ref)).toBeLessThan(1e-5);
    });
  }
});
