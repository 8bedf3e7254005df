import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { Embedding } from '../../src/kernels/embedding';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { embeddingRef } from '../reference/embedding';

describe('embedding gather', () => {
  // [rows, vocab, hidden, maxBindingBytes]
  const cases: [number, number, number, number | undefined][] = [
    [7, 50, 33, undefined],
    [19, 300, 64, undefined],
    [13, 1000, 96, 256 * 96], // forces row windows of the table
  ];
  for (const f16 of [false, true]) {
    for (const [rows, vocab, hidden, maxBindingBytes] of cases) {
      it(`${rows} ids, table ${vocab}x${hidden} ${f16 ? 'f16' : 'f32'}${maxBindingBytes ? ' windowed' : ''}`, async () => {
        const rt = await testRuntime();
        const { normal, uniform } = seededRandom(`embedding ${rows}x${vocab}x${hidden}`);
        const table = randomArray(vocab * hidden, normal);
        const ids = new Uint32Array(rows).map(() => Math.floor(uniform() * vocab));
        ids[rows - 1] = vocab + 3; // out of range -> zeros
        ids[0] = vocab - 1;
        const y = poisonedF32(rt, rows * hidden);
        const op = new Embedding(rt, {
          rows, V: vocab, dim: hidden, dtype: f16 ? 'f16' : 'f32', maxBindingBytes,
          ids: uploadBuffer(rt.device, ids, 'ids'),
          table: uploadBuffer(rt.device, f16 ? packF16(table) : table, 'table'),
          y,
        });
        runPass(rt, (pass) => op.encode(pass));
        const out = await readF32(rt.device, y, rows * hidden);
        expect(firstNonFinite(out)).toBe(-1);
        const ref = embeddingRef(ids, f16 ? roundToF16(table) : table, vocab, hidden);
        expect(relativeError(out, ref)).toBe(0);
      });
    }
  }
});
