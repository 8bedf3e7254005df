import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/eval/generate';
import type { SamplingOptions } from '../../src/kernels/sampling';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { mulberry32 } from '../../src/util/random';
import { loadTestModel } from '../helpers/models';
import { relativeError } from '../helpers/numeric';
import { drawRef, logZRef, repetitionPenaltyRef, topkRef } from '../reference/sampling';

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
      // A decode step is the embedding, 6 dispatches per block (q/k/v, split, merge, o, gate/up, down) and the head.
      expect(dec.dispatchesPerStep).toBe(2 + 6 * plan.length);
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

describe('generation with steps in flight', { timeout: 600_000 }, () => {
  const prompt = tokens.slice(0, 6);
  const plan = planWithout(16, [5]);
  /** The prompt followed by its own greedy continuation: tokens the model is inclined to say again. */
  const echoPrompt = async () => [...prompt, ...(await generate(model, prompt, { plan, maxNewTokens: 8, forceLength: true, sampling: { temperature: 0 } })).ids];

  // The seed's warpers; the same with Hugging Face's repetition penalty; greedy with a strong penalty.
  const replayCases: [string, SamplingOptions, number][] = [
    ['sampled', { temperature: 0.8, topK: 40, topP: 0.9 }, 77],
    ['sampled, repetition penalty 1.3', { temperature: 0.8, topK: 40, topP: 0.9, repetitionPenalty: 1.3 }, 78],
    ['greedy, repetition penalty 1.5', { temperature: 0, repetitionPenalty: 1.5 }, 0],
  ];
  for (const [name, sampling, seed] of replayCases) {
    it(`${name}: every token is the float64 choice from that step's logits (replayed with the same uniforms)`, async () => {
      const context = sampling.repetitionPenalty ? await echoPrompt() : prompt;
      const r = await generate(model, context, { plan, maxNewTokens: 12, forceLength: true, sampling, seed });
      expect(r.ids.length).toBe(12);
      // Replay one step at a time from the host: token i must be the float64 choice from step i's logits,
      // penalised (if asked) for the prompt and the tokens before i.
      const random = mulberry32(seed);
      const dec = model.decoder(context.length + 12);
      dec.setPlan(plan);
      dec.prefill(context);
      let compared = 0;
      for (const [i, id] of r.ids.entries()) {
        const raw = await dec.readLogits();
        const logits = repetitionPenaltyRef(raw, [...context, ...r.ids.slice(0, i)], sampling.repetitionPenalty ?? 1);
        const best = topkRef(logits, 40);
        const values = best.map((j) => logits[j]!);
        const want = sampling.temperature > 0
          ? drawRef(values, best, logZRef(logits, sampling.temperature), sampling, Math.fround(random()))
          : { id: best[0]!, margin: (values[0]! - values[1]!) / Math.abs(values[0]!) };
        if (want.margin >= 1e-5) {
          expect(id, `token ${i}`).toBe(want.id);
          compared++;
        }
        dec.append(id);
      }
      expect(compared).toBeGreaterThan(9);
    });
  }

  it('the repetition penalty changes what greedy decoding repeats', async () => {
    const context = await echoPrompt();
    const greedy = await generate(model, context, { plan, maxNewTokens: 24, forceLength: true, sampling: { temperature: 0 } });
    const penalised = await generate(model, context, { plan, maxNewTokens: 24, forceLength: true, sampling: { temperature: 0, repetitionPenalty: 1.5 } });
    const repeats = (ids: number[]) => ids.length - new Set([...context, ...ids]).size + new Set(context).size;
    expect(repeats(penalised.ids)).toBeLessThan(repeats(greedy.ids));
  });

  it('stops at EOS and on cancel with later steps queued, and the next generation is unaffected', async () => {
    const greedy = { temperature: 0 };
    const full = await generate(model, prompt, { plan, maxNewTokens: 10, forceLength: true, sampling: greedy });
    const eos = full.ids[3]!;
    const stopped = await generate(model, prompt, { plan, maxNewTokens: 10, sampling: greedy, eosIds: [eos] });
    expect(stopped.stoppedBy).toBe('eos');
    expect(stopped.ids).toEqual(full.ids.slice(0, full.ids.indexOf(eos) + 1));
    const ctl = new AbortController();
    const cancelled = await generate(model, prompt, { plan, maxNewTokens: 10, forceLength: true, sampling: greedy, signal: ctl.signal, onToken: (_, i) => i === 1 && ctl.abort() });
    expect(cancelled.stoppedBy).toBe('cancel');
    expect(cancelled.ids).toEqual(full.ids.slice(0, 2));
    expect((await generate(model, prompt, { plan, maxNewTokens: 10, forceLength: true, sampling: greedy })).ids).toEqual(full.ids);
    await expect(generate(model, prompt, { plan, maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
  });
});
