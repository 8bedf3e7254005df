import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readU32, uploadBuffer } from '../../src/gpu/buffers';
import { Argmax, Draw, NO_TOKEN, TopK, type SamplingOptions } from '../../src/kernels/sampling';
import { runPass, testRuntime } from '../helpers/gpu';
import { randomArray, seededRandom } from '../helpers/numeric';
import { drawRef, logZRef, topkRef } from '../reference/sampling';

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

  // [V, logit scale, sampling]: the seed's defaults, nucleus over the vocabulary (truncated to the 64
  // candidates when flat), top-k alone, fewer elements than candidates, greedy, three top-k stages.
  const drawCases: [number, number, SamplingOptions][] = [
    [5003, 3, { temperature: 1, topK: 50, topP: 0.95 }],
    [5003, 3, { temperature: 0.7, topP: 0.9 }],
    [5003, 0.01, { temperature: 1, topP: 0.95 }],
    [5003, 1, { temperature: 1.3, topK: 5 }],
    [10, 1, { temperature: 1 }],
    [5003, 3, { temperature: 0 }],
    [70001, 3, { temperature: 1, topP: 0.95 }],
  ];
  for (const [V, scale, o] of drawCases) {
    it(`draw ${V} logits x${scale} ${JSON.stringify(o)} equals the float64 inverse CDF`, async () => {
      const rt = await testRuntime();
      const { normal, uniform } = seededRandom(`draw ${V} ${scale} ${JSON.stringify(o)}`);
      const x = randomArray(V, normal, scale);
      const topK = new TopK(rt, { rows: 1, V, k: Math.min(64, o.topK || 64), logits: uploadBuffer(rt.device, x, 'logits'), temperature: o.temperature > 0 ? o.temperature : 1 });
      runPass(rt, (pass) => topK.encode(pass));
      const [c] = await topK.read();
      const out = createStorageBuffer(rt.device, 4, 'token');
      const draw = new Draw(rt, topK, o, out);
      const draws = 40;
      let compared = 0;
      for (let j = 0; j <= draws; j++) {
        // Stratified uniforms, and the largest f32 below 1.
        const u = Math.fround(j === draws ? 1 - 2 ** -24 : (j + uniform()) / draws);
        draw.setUniform(u);
        runPass(rt, (pass) => draw.encode(pass));
        const got = (await readU32(rt.device, out, 1))[0];
        const want = drawRef(c!.values, c!.ids, c!.logZ, o, u);
        if (want.margin < 1e-5) continue; // u within f32 rounding of a CDF step: either neighbour is right
        expect(got, `u = ${u}`).toBe(want.id);
        compared++;
      }
      expect(compared).toBeGreaterThan(draws - 3);
      topK.destroy();
      out.destroy();
    });
  }

  it('the float64 draw follows temperature / top-k / top-p', () => {
    const values = new Float32Array([3, 2.5, 2, 1, 0, -1]);
    const ids = new Uint32Array([10, 11, 12, 13, 14, 15]);
    const logZ = logZRef(values, 1); // as if the vocabulary were these six tokens
    const id = (o: SamplingOptions, u: number) => drawRef(values, ids, logZ, o, u).id;
    expect(id({ temperature: 0 }, 0.99)).toBe(10);
    expect(id({ temperature: 1, topK: 1 }, 0.99)).toBe(10);
    expect(id({ temperature: 1, topP: 0.01 }, 0.99)).toBe(10);
    // top-k 3 at temperature 1: the share of uniforms mapping to each token is its renormalized probability.
    const counts = new Map<number, number>();
    const draws = 6000;
    for (let i = 0; i < draws; i++) {
      const t = id({ temperature: 1, topK: 3 }, (i + 0.5) / draws);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const e = [3, 2.5, 2].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    [10, 11, 12].forEach((t, i) => expect(Math.abs((counts.get(t) ?? 0) / draws - e[i]! / z)).toBeLessThan(1 / draws));
    expect([...counts.keys()].sort()).toEqual([10, 11, 12]);
    // top-p 0.6 over the full distribution keeps 10 and 11 (p = 0.48, 0.29: 0.48 < 0.6 so 11 is kept too).
    const kept = new Set(Array.from({ length: 500 }, (_, i) => id({ temperature: 1, topP: 0.6 }, (i + 0.5) / 500)));
    expect([...kept].sort()).toEqual([10, 11]);
  });
});
