import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { loadTestModel } from '../helpers/models';
import { relativeError } from '../helpers/numeric';

let model: LlamaModel;
beforeAll(async () => {
  model = await loadTestModel();
});
afterAll(() => model?.dispose());

const tokens = [1, 400, 77, 1021, 9, 2500, 31, 64, 3000, 12, 5, 777, 42];

describe('decode with the KV cache', { timeout: 600_000 }, () => {
  for (const removed of [[], [3, 7, 8]]) {
    it(`gives the logits of a full prefill at every position (blocks removed: [${removed}])`, async () => {
      const plan = planWithout(model.numLayers, removed);
      const batch = model.batch(1, tokens.length);
      batch.setTokens(Uint32Array.from(tokens));
      await batch.run({ plan });
      const reference = await batch.logitsRows(tokens.map((_, i) => i));
      const dec = model.decoder(32);
      dec.setPlan(plan);
      const prompt = 5;
      dec.prefill(tokens.slice(0, prompt));
      expect(relativeError(await dec.readLogits(), reference[prompt - 1]!)).toBeLessThan(1e-5);
      for (let n = prompt; n < tokens.length; n++) {
        dec.append(tokens[n]!);
        expect(relativeError(await dec.readLogits(), reference[n]!), `position ${n}`).toBeLessThan(1e-5);
      }
    });
  }

  it('refuses a context beyond the cache', () => {
    const dec = model.decoder(8);
    dec.setPlan(model.fullPlan());
    expect(() => dec.prefill(new Array(model.decoder(8).maxLen + 1).fill(5))).toThrow(/exceeds the context/);
  });
});
