import { describe, expect, it } from 'vitest';
import { createStorageBuffer, readF32, uploadBuffer, writeBuffer } from '../../src/gpu/buffers';
import { RepetitionPenalty } from '../../src/kernels/repetition-penalty';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { randomArray, seededRandom } from '../helpers/numeric';
import { repetitionPenaltyRef } from '../reference/sampling';

/** Largest elementwise |out - ref| / |ref| (0 where both are 0). */
function maxElementError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i]! - ref[i]!);
    if (d > 0) worst = Math.max(worst, d / Math.abs(ref[i]!));
  }
  return worst;
}

describe('repetition penalty', () => {
  for (const [V, penalty] of [[1000, 1.3], [70001, 0.7]] as const) {
    it(`V ${V}, penalty ${penalty}: the prompt and each step's token are penalised from then on`, async () => {
      const rt = await testRuntime();
      const { seed, normal, uniform } = seededRandom(`penalty ${V} ${penalty}`);
      const x = randomArray(V, normal, 3);
      const logits = uploadBuffer(rt.device, x, 'logits');
      const token = createStorageBuffer(rt.device, 4, 'token');
      const op = new RepetitionPenalty(rt, { V, penalty, logits, token });
      writeBuffer(rt.device, op.out, new Float32Array(V).fill(NaN));
      const id = () => Math.floor(uniform() * V);
      const prompt = [id(), id(), id(), 0, V - 1];
      prompt.push(prompt[1]!); // a repeat in the prompt is penalised once
      op.reset(prompt);
      const seen = [...prompt];
      // The prompt's step (its token buffer holds the prompt's last token), then two generated tokens.
      for (const next of [undefined, id(), id()]) {
        if (next !== undefined) {
          writeBuffer(rt.device, token, Uint32Array.of(next));
          seen.push(next);
        }
        runPass(rt, (pass) => op.encode(pass));
        const out = await readF32(rt.device, op.out, V);
        expect(maxElementError(out, repetitionPenaltyRef(x, seen, penalty)), `seed ${seed}, seen ${seen}`).toBeLessThan(1e-6);
      }
      expect(Array.from(await readF32(rt.device, logits, V))).toEqual(Array.from(x)); // the head's logits are untouched
    });
  }

  it('rejects a penalty that is not a positive number', async () => {
    const rt = await testRuntime();
    const buffers = { logits: poisonedF32(rt, 8), token: createStorageBuffer(rt.device, 4, 'token') };
    for (const penalty of [0, -1.2, NaN, Infinity]) {
      expect(() => new RepetitionPenalty(rt, { V: 8, penalty, ...buffers })).toThrow(/positive number/);
    }
  });
});
