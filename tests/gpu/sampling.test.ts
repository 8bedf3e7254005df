import { describe, expect, it } from 'vitest';
import { uploadBuffer } from '../../src/gpu/buffers';
import { Argmax, NO_TOKEN, sampleFromCandidates, TopK } from '../../src/kernels/sampling';
import { mulberry32 } from '../../src/util/random';
import { runPass, testRuntime } from '../helpers/gpu';
import { randomArray, seededRandom } from '../helpers/numeric';
import { logZRef, topkRef } from '../reference/sampling';

/** Random logits quantized to quarters (many ties), with a few NaNs. */
function logits(rows: number, V: number, name: string): Float32Array {
  const { normal } = seededRandom(name);
  const x = randomArray(rows * V, normal, 3).map((v) => Math.round(v * 4) / 4);
  for (let r = 0; r < rows; r++) x[r * V + ((r * 7919) % V)] = NaN;
  return x;
}

describe('argmax and top-k', () => {
  // Workgroups: the adapter's default, and 256 threads (the GPU default) on any adapter.
  for (const [rows, V, workgroupSize] of [[1, 1, undefined], [5, 5003, undefined], [2, 32000, undefined], [5, 5003, 256]] as const) {
    it(`argmax ${rows}x${V}${workgroupSize ? ` WG ${workgroupSize}` : ''}`, async () => {
      const rt = await testRuntime();
      const x = V === 1 ? new Float32Array([0.5]) : logits(rows, V, `argmax ${rows} ${V}`);
      const op = new Argmax(rt, { rows, V, logits: uploadBuffer(rt.device, x, 'logits'), workgroupSize });
      runPass(rt, (pass) => op.encode(pass));
      const ids = await op.read();
      for (let r = 0; r < rows; r++) expect(ids[r]).toBe(topkRef(x.subarray(r * V, (r + 1) * V), 1)[0]);
    });
  }

  // [rows, V, k]: one stage, two stages, three stages, fewer elements than k
  for (const [rows, V, k, workgroupSize] of [[3, 700, 8, undefined], [2, 5003, 64, undefined], [2, 70001, 50, undefined], [1, 10, 16, undefined], [2, 5003, 64, 256]] as const) {
    it(`top-${k} ${rows}x${V}${workgroupSize ? ` WG ${workgroupSize}` : ''}`, async () => {
      const rt = await testRuntime();
      const x = logits(rows, V, `topk ${rows} ${V} ${k}`);
      const temperature = 0.7;
      const op = new TopK(rt, { rows, V, k, logits: uploadBuffer(rt.device, x, 'logits'), temperature: 2, workgroupSize });
      op.setTemperature(temperature); // rewritten in place after construction
      runPass(rt, (pass) => op.encode(pass));
      const cands = await op.read();
      for (let r = 0; r < rows; r++) {
        const row = x.subarray(r * V, (r + 1) * V);
        const want = topkRef(row, Math.min(k, V));
        const got = Array.from(cands[r]!.ids);
        expect(got.slice(0, want.length)).toEqual(want);
        expect(got.slice(want.length).every((id) => id === NO_TOKEN)).toBe(true);
        want.forEach((id, i) => expect(cands[r]!.values[i]).toBe(Number.isNaN(row[id]!) ? -Infinity : row[id]!));
        const finite = row.filter((v) => !Number.isNaN(v));
        const lz = logZRef(finite, temperature);
        expect(Math.abs(cands[r]!.logZ - lz) / Math.abs(lz)).toBeLessThan(1e-6);
      }
    });
  }

  it('sampling from candidates follows temperature / top-k / top-p', () => {
    const values = new Float32Array([3, 2.5, 2, 1, 0, -1]);
    const ids = new Uint32Array([10, 11, 12, 13, 14, 15]);
    const logZ = logZRef(values, 1); // as if the vocabulary were these six tokens
    const c = { values, ids, logZ };
    const rng = mulberry32(1234);
    expect(sampleFromCandidates(c, { temperature: 0 }, rng)).toBe(10);
    expect(sampleFromCandidates(c, { temperature: 1, topK: 1 }, rng)).toBe(10);
    expect(sampleFromCandidates(c, { temperature: 1, topP: 0.01 }, rng)).toBe(10);
    // top-k 3 at temperature 1: frequencies match the renormalized softmax of the three best.
    const counts = new Map<number, number>();
    const draws = 6000;
    for (let i = 0; i < draws; i++) {
      const id = sampleFromCandidates(c, { temperature: 1, topK: 3 }, rng);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const e = [3, 2.5, 2].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    [10, 11, 12].forEach((id, i) => expect(Math.abs((counts.get(id) ?? 0) / draws - e[i]! / z)).toBeLessThan(0.03));
    expect([...counts.keys()].every((id) => id >= 10 && id <= 12)).toBe(true);
    // top-p 0.6 over the full distribution keeps 10 and 11 (p = 0.48, 0.29: 0.48 < 0.6 so 11 is kept too).
    for (let i = 0; i < 500; i++) expect([10, 11]).toContain(sampleFromCandidates(c, { temperature: 1, topP: 0.6 }, rng));
  });
});
