/**
 * Loss targets through the model (prompt masking, padding): on the embedded model with blocks 3, 7, 11
 * removed, a right-padded batch of two Alpaca-like sequences with masked prompts gives
 * - per-sequence NLL sums and counts (BatchForward with targets) equal to a float64 log-softmax of the
 *   lab's logits over the target positions only;
 * - the training step's loss (before its update) equal to their mean over target tokens, as
 *   transformers' mean over labels != -100.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packBatch } from '../../src/heal/data';
import { LoraAdapters } from '../../src/heal/lora';
import { ADAMW_DEFAULTS, LoraTrainer } from '../../src/heal/train';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { loadTestModel } from '../helpers/models';

describe('loss targets', { timeout: 300_000 }, () => {
  let model: LlamaModel;
  beforeAll(async () => {
    model = await loadTestModel();
  });
  afterAll(() => model?.dispose());

  const mk = (n: number, prompt: number, from: number) => ({
    ids: Uint32Array.from({ length: n }, (_, i) => (i === 0 ? 1 : (from + i * 37) % 4000 + 5)),
    targets: Uint8Array.from({ length: n }, (_, i) => (i < prompt ? 0 : 1)),
  });

  it('masked NLL of the forward and the training loss are the float64 mean over target tokens', async () => {
    const plan = planWithout(model.numLayers, [3, 7, 11]);
    const { ids, targets, N, T } = packBatch([mk(20, 6, 11), mk(13, 4, 300)]);
    expect(T).toBe(24);
    const f = model.batch(N, T);
    f.setTokens(ids, targets);
    const r = await f.run({ plan });
    const logits = await f.logitsRows(Array.from({ length: N * T }, (_, i) => i));
    f.destroy();
    const V = model.config.vocabSize;
    const refSums = [0, 0];
    const refCounts = [0, 0];
    for (let row = 0; row < N * T; row++) {
      if ((row + 1) % T === 0 || !targets![row + 1]) continue;
      const z = logits[row]!;
      let m = -Infinity;
      for (let i = 0; i < V; i++) m = Math.max(m, z[i]!);
      let s = 0;
      for (let i = 0; i < V; i++) s += Math.exp(z[i]! - m);
      const b = Math.floor(row / T);
      refSums[b]! += m + Math.log(s) - z[ids[row + 1]!]!;
      refCounts[b]!++;
    }
    expect(refCounts).toEqual([20 - 6, 13 - 4]);
    expect(Array.from(r.counts)).toEqual(refCounts);
    refSums.forEach((s, b) => expect(Math.abs(r.sums[b]! - s) / s).toBeLessThan(1e-5));
    const mean = (refSums[0]! + refSums[1]!) / (refCounts[0]! + refCounts[1]!);

    const lora = new LoraAdapters(model.rt, model.config, plan, { r: 4, alpha: 8, dropout: 0, seed: 1 });
    const trainer = new LoraTrainer(model, lora, { lr: 1e-3, warmupSteps: 0, totalSteps: 2, ...ADAMW_DEFAULTS });
    try {
      const loss = await trainer.trainStep([{ ids, N, T, targets: targets! }]);
      console.log(`masked loss ${loss} vs float64 ${mean}; unmasked mean would differ`);
      expect(Math.abs(loss - mean) / mean).toBeLessThan(1e-5);
    } finally {
      trainer.dispose();
      lora.dispose();
    }
  });
});
