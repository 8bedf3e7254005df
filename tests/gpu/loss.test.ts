import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readF32, uploadBuffer, writeBuffer } from '../../src/gpu/buffers';
import { IGNORE_LABEL, NllRows, SequenceNll } from '../../src/kernels/loss';
import { runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { nllRef } from '../reference/loss';

describe('next-token NLL', () => {
  // [B, T, V, logit scale, maxBindingBytes, rows per chunk]
  const cases: [number, number, number, number, number | undefined, number | undefined][] = [
    [1, 1, 7, 1, undefined, undefined],
    [2, 9, 1000, 3, undefined, undefined],
    [3, 13, 5003, 1e4, undefined, undefined], // huge logits: needs max subtraction
    [2, 21, 776, 30, 776 * 4 * 16 + 16, undefined], // logits bound in row windows of 16 rows
    [2, 15, 501, 5, undefined, 7], // logits produced in chunks of 7 rows (rowOffset)
  ];
  it('gives the same NLL with GPU-sized workgroups (256 threads a row) on any adapter', async () => {
    const rt = await testRuntime();
    const { normal, uniform } = seededRandom('nll wg256');
    const [rows, V] = [5, 3001];
    const logits = randomArray(rows * V, normal, 20);
    const labels = new Uint32Array(rows).map(() => Math.floor(uniform() * V));
    const nll = createStorageBuffer(rt.device, rows * 4, 'nll');
    const op = new NllRows(rt, { rows, V, nll, labels: uploadBuffer(rt.device, labels, 'labels'), logits: uploadBuffer(rt.device, logits, 'logits'), workgroupSize: 256 });
    runPass(rt, (pass) => op.encode(pass));
    expect(relativeError(await readF32(rt.device, nll, rows), nllRef(logits, labels, V))).toBeLessThan(1e-5);
  });
  for (const [B, T, V, scale, maxBindingBytes, chunk] of cases) {
    it(`B${B} T${T} V${V} scale ${scale}${maxBindingBytes ? ' windowed' : ''}${chunk ? ` chunks of ${chunk}` : ''}`, async () => {
      const rt = await testRuntime();
      const { normal, uniform } = seededRandom(`nll ${B} ${T} ${V} ${scale}`);
      const rows = B * T;
      const logits = randomArray(rows * V, normal, scale);
      const labels = new Uint32Array(rows).map(() => Math.floor(uniform() * V));
      labels[rows - 1] = IGNORE_LABEL; // last position of the last sequence has no next token
      if (rows > 2) labels[1] = V; // out of range is ignored too
      const labelsBuf = uploadBuffer(rt.device, labels, 'labels');
      const nll = createStorageBuffer(rt.device, rows * 4, 'nll');
      writeBuffer(rt.device, nll, new Float32Array(rows).fill(NaN));
      const step = chunk ?? rows;
      for (let r0 = 0; r0 < rows; r0 += step) {
        const n = Math.min(step, rows - r0);
        const op = new NllRows(rt, {
          rows: n, V, nll, labels: labelsBuf, rowOffset: r0, maxBindingBytes,
          logits: uploadBuffer(rt.device, logits.subarray(r0 * V, (r0 + n) * V), 'logits'),
        });
        runPass(rt, (pass) => op.encode(pass));
      }
      const seq = new SequenceNll(rt, { B, T, V, labels: labelsBuf, nll });
      runPass(rt, (pass) => seq.encode(pass));
      const perPos = await readF32(rt.device, nll, rows);
      expect(firstNonFinite(perPos)).toBe(-1);
      const ref = nllRef(logits, labels, V);
      const relPos = relativeError(perPos, ref);
      const { sums, counts } = await seq.read();
      const refSums = new Float64Array(B);
      const refCounts = new Float64Array(B);
      for (let r = 0; r < rows; r++) {
        const b = Math.floor(r / T);
        refSums[b] += ref[r]!;
        if (labels[r]! < V) refCounts[b] += 1;
      }
      const relSum = relativeError(sums, refSums);
      console.log(`nll B${B} T${T} V${V} scale ${scale}: rel per-position ${relPos.toExponential(2)}, sums ${relSum.toExponential(2)}`);
      expect(relPos).toBeLessThan(1e-5);
      expect(relSum).toBeLessThan(1e-5);
      expect(Array.from(counts)).toEqual(Array.from(refCounts));
    });
  }
});
