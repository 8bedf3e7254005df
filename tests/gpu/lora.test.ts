/** The LoRA adapter kernels (src/kernels/lora.ts) against float64 references: odd sizes, r not a multiple of 4, NaN-poisoned outputs. */
import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { loraBackward, loraDown } from '../../src/kernels/lora';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import { keepRef, loraBackwardRef, loraDownRef } from '../reference/lora';

// [M, N, K, r, dropout]
// K % 4 == 0 takes `down4`, `grad_a4`, `grad_x4` (16-byte loads), the others the scalar forms
const cases: [number, number, number, number, number][] = [[1, 1, 1, 1, 0], [37, 19, 53, 8, 0.05], [20, 11, 9, 6, 0.5], [70, 24, 33, 3, 0], [33, 12, 64, 8, 0.05], [9, 7, 20, 5, 0.5]];

describe('lora kernels', () => {
  for (const [M, N, K, r, p] of cases) {
    it(`M ${M} N ${N} K ${K} r ${r} dropout ${p}`, async () => {
      const rt = await testRuntime();
      const { seed, normal } = seededRandom(`lora ${M} ${N} ${K} ${r} ${p}`);
      const salt = 0x9e3779b9 ^ 7;
      const layer = { M, N, K, r, scale: 16 / r, p, seed, salt, x: randomArray(M * K, normal), a: randomArray(r * K, normal), b: randomArray(N * r, normal) };
      const dy = randomArray(M * N, normal);
      const prior = { gradA: randomArray(r * K, normal), gradB: randomArray(N * r, normal), dx: randomArray(M * K, normal) };
      const up = (data: Float32Array, label: string) => uploadBuffer(rt.device, data, label);
      const args = {
        ...layer, seed: rt.uniform(new Uint32Array([seed, 0, 0, 0]).buffer, 'seed'),
        x: up(layer.x, 'x'), a: up(layer.a, 'a'), b: up(layer.b, 'b'), u: poisonedF32(rt, M * r, 'u'),
      };
      const read = (b: GPUBuffer, n: number) => readF32(rt.device, b, n);

      const down = loraDown(rt, args);
      runPass(rt, (pass) => down.encode(pass));
      const u = await read(args.u, M * r);
      expect(firstNonFinite(u)).toBe(-1);
      const uErr = relativeError(u, loraDownRef(layer));
      expect(uErr).toBeLessThan(1e-5);

      const bw = { ...args, u: poisonedF32(rt, M * r, 'u'), dy: up(dy, 'dy'), du: poisonedF32(rt, M * r, 'du'), gradA: up(prior.gradA, 'gradA'), gradB: up(prior.gradB, 'gradB'), dx: up(prior.dx, 'dx') };
      const op = loraBackward(rt, bw);
      runPass(rt, (pass) => op.encode(pass));
      const ref = loraBackwardRef(layer, dy, prior);
      const errs = [`u ${uErr.toExponential(2)}`];
      for (const [name, buf, n] of [['du', bw.du, M * r], ['gradA', bw.gradA, r * K], ['gradB', bw.gradB, N * r], ['dx', bw.dx, M * K]] as const) {
        const out = await read(buf, n);
        expect(firstNonFinite(out), name).toBe(-1);
        const e = relativeError(out, ref[name]);
        errs.push(`${name} ${e.toExponential(2)}`);
        expect(e, name).toBeLessThan(1e-5);
      }
      console.log(`rel err: ${errs.join(', ')}`);
    });
  }

  it('dropout keeps about 1 - p of the elements, and another seed draws another mask', () => {
    const n = 3001;
    const salt = 0x9e3779b9 ^ 7;
    for (const p of [0.05, 0.5]) {
      const dropped = Array.from({ length: n }, (_, i) => !keepRef(i, 11, salt, p)).filter(Boolean).length;
      expect(Math.abs(dropped / n - p)).toBeLessThan(0.03);
      const other = Array.from({ length: n }, (_, i) => keepRef(i, 12, salt, p) !== keepRef(i, 11, salt, p)).filter(Boolean).length;
      expect(other).toBeGreaterThan(0);
    }
  });
});
