/**
 * Decode with unmerged LoRA adapters (inference: no dropout) equals the batched forward with the same
 * adapters: the logits at every position of a prefill + single-token steps (1e-5 relative, as the
 * adapter-less decode test: the decode shapes run other matmul kernels), and greedy generation picks
 * the batched forward's argmax at every step. With B = 0 the adapters add exact zeros: the outputs are
 * the pruned model's. Merged on the GPU into copies of the f16 weights, the model decodes the same
 * logits up to the f16 rounding of the merged weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/eval/generate';
import { LoraAdapters } from '../../src/heal/lora';
import { mergeAdapters } from '../../src/heal/merged-weights';
import { BatchForward } from '../../src/model/batch-forward';
import { DecodeState } from '../../src/model/decode';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { loadTestModel } from '../helpers/models';
import { randomArray, relativeError, seededRandom } from '../helpers/numeric';

let model: LlamaModel;
beforeAll(async () => {
  model = await loadTestModel();
});
afterAll(() => model?.dispose());

const tokens = [1, 400, 77, 1021, 9, 2500, 31, 64, 3000, 12, 5];
const plan = planWithout(16, [3, 7, 11]);

async function batchLogits(ids: number[], lora?: LoraAdapters): Promise<Float32Array[]> {
  const f = new BatchForward(model.rt, model.config, model.weights, 1, ids.length, lora?.forShape(ids.length));
  try {
    f.setTokens(Uint32Array.from(ids));
    await f.run({ plan });
    return await f.logitsRows(ids.map((_, i) => i));
  } finally {
    f.destroy();
  }
}

async function decodeLogits(ids: number[], prompt: number, lora?: LoraAdapters): Promise<Float32Array[]> {
  const dec = model.decoder(32);
  dec.setPlan(plan, lora ? (rows) => lora.forShape(rows) : undefined);
  dec.prefill(ids.slice(0, prompt));
  const out = [await dec.readLogits()];
  for (let n = prompt; n < ids.length; n++) {
    dec.append(ids[n]!);
    out.push(await dec.readLogits());
  }
  return out;
}

const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > x[best]! ? i : best), 0);

describe('decode with unmerged LoRA adapters', { timeout: 600_000 }, () => {
  it('equals the batched forward with the adapters; greedy follows its argmax', async () => {
    const lora = new LoraAdapters(model.rt, model.config, plan, { r: 4, alpha: 8, dropout: 0, seed: 1 });
    try {
      const { normal } = seededRandom('decode-lora');
      for (const a of lora.adapters) lora.write(a.block, a.name, randomArray(a.A.rows * a.A.cols, normal, 0.1), randomArray(a.B.rows * a.B.cols, normal, 0.05));
      const prompt = 5;
      const reference = await batchLogits(tokens, lora);
      const decoded = await decodeLogits(tokens, prompt, lora);
      const without = await batchLogits(tokens);
      decoded.forEach((d, i) => expect(relativeError(d, reference[prompt - 1 + i]!), `position ${prompt - 1 + i}`).toBeLessThan(1e-5));
      // the adapters matter: the plain pruned model is far from these logits
      expect(relativeError(without[tokens.length - 1]!, reference[tokens.length - 1]!)).toBeGreaterThan(1e-2);

      // merged into f16 copies: each weight rounded once more (2^-11 relative), far below the adapters' effect
      const merged = mergeAdapters(model.rt, model.weights, lora);
      const state = new DecodeState(model.rt, model.config, merged.weights, 32);
      try {
        state.setPlan(plan);
        state.prefill(tokens);
        const err = relativeError(await state.readLogits(), reference[tokens.length - 1]!);
        console.log(`merged vs unmerged logits: rel err ${err.toExponential(2)}`);
        expect(err).toBeLessThan(5e-4);
      } finally {
        state.destroy();
        merged.dispose();
      }

      const g = await generate(model, tokens.slice(0, prompt), { plan, adapters: (rows) => lora.forShape(rows), maxNewTokens: 6, forceLength: true, sampling: { temperature: 0 } });
      const full = [...tokens.slice(0, prompt), ...g.ids];
      const rows = await batchLogits(full, lora);
      g.ids.forEach((id, i) => expect(id, `token ${i}`).toBe(argmax(rows[prompt - 1 + i]!)));
    } finally {
      model.decoder(32).setPlan(plan); // drop the op sets bound to the adapters before they go
      lora.dispose();
    }
  });

  it('evaluation hooks run without dropout: adapters trained with dropout give the dropout-free logits', async () => {
    const train = new LoraAdapters(model.rt, model.config, plan, { r: 4, alpha: 8, dropout: 0.3, seed: 1 });
    const plain = new LoraAdapters(model.rt, model.config, plan, { r: 4, alpha: 8, dropout: 0, seed: 1 });
    try {
      const { normal } = seededRandom('decode-lora eval');
      for (const a of train.adapters) {
        const A = randomArray(a.A.rows * a.A.cols, normal, 0.1);
        const B = randomArray(a.B.rows * a.B.cols, normal, 0.05);
        train.write(a.block, a.name, A, B);
        plain.write(a.block, a.name, A, B);
      }
      const run = async (hook: ReturnType<LoraAdapters['forShape']>) => {
        const f = new BatchForward(model.rt, model.config, model.weights, 1, tokens.length, hook);
        try {
          f.setTokens(Uint32Array.from(tokens));
          await f.run({ plan });
          return (await f.logitsRows([tokens.length - 1]))[0]!;
        } finally {
          f.destroy();
        }
      };
      const reference = await run(plain.forShape(tokens.length));
      expect(await run(train.forShape(tokens.length, false))).toEqual(reference);
      expect(relativeError(await run(train.forShape(tokens.length)), reference)).toBeGreaterThan(1e-4); // training mode drops
    } finally {
      train.dispose();
      plain.dispose();
    }
  });

  it('B = 0 gives the pruned model', async () => {
    const lora = new LoraAdapters(model.rt, model.config, plan, { r: 8, alpha: 16, dropout: 0, seed: 2 });
    try {
      const zero = await decodeLogits(tokens, 4, lora);
      const pruned = await decodeLogits(tokens, 4);
      zero.forEach((z, i) => expect(relativeError(z, pruned[i]!), `position ${3 + i}`).toBeLessThan(1e-5));
      const a = await generate(model, tokens.slice(0, 4), { plan, adapters: (rows) => lora.forShape(rows), maxNewTokens: 6, forceLength: true, sampling: { temperature: 0 } });
      const b = await generate(model, tokens.slice(0, 4), { plan, maxNewTokens: 6, forceLength: true, sampling: { temperature: 0 } });
      expect(a.ids).toEqual(b.ids);
    } finally {
      model.decoder(32).setPlan(plan);
      lora.dispose();
    }
  });
});
