/** The LoRA kernels (src/kernels/lora.ts) against float64 references: odd sizes, NaN-poisoned outputs. */
import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { Dropout, Scale, WeightGrad } from '../../src/kernels/lora';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { dropoutRef, keepRef, weightGradRef } from '../reference/lora';

describe('lora weight_grad kernel', () => {
  for (const [M, N, K] of [[1, 1, 1], [37, 8, 53], [130, 45, 7]] as const) {
    for (const accumulate of [false, true]) {
      it(`M ${M} N ${N} K ${K}${accumulate ? ' accumulating' : ''}`, async () => {
        const rt = await testRuntime();
        const { seed, normal } = seededRandom(`lora weight_grad ${M} ${N} ${K} ${accumulate}`);
        console.log(`seed ${seed}`);
        const dy = randomArray(M * N, normal);
        const x = randomArray(M * K, normal);
        const prior = randomArray(N * K, normal);
        const dw = accumulate ? uploadBuffer(rt.device, prior, 'dw') : poisonedF32(rt, N * K, 'dw');
        const op = new WeightGrad(rt, { M, N, K, dy: uploadBuffer(rt.device, dy, 'dy'), x: uploadBuffer(rt.device, x, 'x'), dw, accumulate });
        runPass(rt, (pass) => op.encode(pass));
        const out = await readF32(rt.device, dw, N * K);
        expect(firstNonFinite(out)).toBe(-1);
        const err = relativeError(out, weightGradRef(dy, x, M, N, K, accumulate ? prior : undefined));
        console.log(`dW rel err ${err.toExponential(2)}`);
        expect(err).toBeLessThan(1e-5);
      });
    }
  }
});

describe('lora scale kernel', () => {
  it('scales 1001 elements in place', async () => {
    const rt = await testRuntime();
    const { normal } = seededRandom('lora scale');
    const x = randomArray(1001, normal);
    const buf = uploadBuffer(rt.device, x, 'y');
    const op = new Scale(rt, { n: 1001, scale: 2.5, y: buf });
    runPass(rt, (pass) => op.encode(pass));
    const out = await readF32(rt.device, buf, 1001);
    expect(relativeError(out, Array.from(x, (v) => v * 2.5))).toBeLessThan(1e-6);
  });
});

describe('lora dropout kernel', () => {
  for (const p of [0, 0.05, 0.5]) {
    for (const accumulate of [false, true]) {
      it(`p ${p} over 3001 elements${accumulate ? ' accumulating' : ''}`, async () => {
        const rt = await testRuntime();
        const { seed, normal } = seededRandom(`lora dropout ${p} ${accumulate}`);
        const n = 3001;
        const salt = 0x9e3779b9 ^ 7;
        const x = randomArray(n, normal);
        const prior = randomArray(n, normal);
        const seedBuf = rt.uniform(new Uint32Array([seed, 0, 0, 0]).buffer, 'seed');
        const y = accumulate ? uploadBuffer(rt.device, prior, 'y') : poisonedF32(rt, n, 'y');
        const op = new Dropout(rt, { n, p, salt, seed: seedBuf, x: uploadBuffer(rt.device, x, 'x'), y, accumulate });
        runPass(rt, (pass) => op.encode(pass));
        const out = await readF32(rt.device, y, n);
        expect(firstNonFinite(out)).toBe(-1);
        expect(relativeError(out, dropoutRef(x, p, seed, salt, accumulate ? prior : undefined))).toBeLessThan(1e-6);
        // the kept fraction is near 1 - p, and another seed draws another mask
        const dropped = Array.from({ length: n }, (_, i) => !keepRef(i, seed, salt, p)).filter(Boolean).length;
        expect(Math.abs(dropped / n - p)).toBeLessThan(0.03);
        if (p > 0) {
          const other = Array.from({ length: n }, (_, i) => keepRef(i, seed + 1, salt, p) !== keepRef(i, seed, salt, p)).filter(Boolean).length;
          expect(other).toBeGreaterThan(0);
        }
      });
    }
  }
});
