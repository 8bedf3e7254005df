/**
 * Healing resumes exactly: 4 optimizer steps straight give the same losses, adapters and AdamW moments
 * as 2 steps, the trainer state exported (as the page stores it), restored into a fresh run, and 2
 * more steps (dropout on, two micro-batches a step: the data order, schedule and dropout seeds all
 * continue). Bit-identical: the same kernels run on the same inputs in the same order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/app/lab';
import { textWindows } from '../../src/heal/data';
import { HEAL_DEFAULTS, heal } from '../../src/heal/run';
import type { TrainerState } from '../../src/heal/train';
import { acquireNodeDevice } from '../../src/node/dawn';
import { nodeHost } from '../../src/node/host';

let engine: LabEngine;
beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('heal-resume-test'), nodeHost);
  await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
});
afterAll(() => engine?.dispose());

const plan = [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15];
const settings = { ...HEAL_DEFAULTS, steps: 4, batch: 1, micro: 2, window: 16, lr: 1e-2, warmupSteps: 1, seed: 5, dropout: 0.1 };

describe('heal resume', { timeout: 300_000 }, () => {
  it('k steps + save + restore + N - k steps equals N steps straight', async () => {
    const text = await engine.text({ kind: 'embedded', name: 'calibration' });
    const stream = engine.tokenizer!.encode(text.text.slice(0, 4000));
    const run = async (resume?: TrainerState) => {
      const states: TrainerState[] = [];
      const r = await heal(engine.model!, { train: textWindows(stream, settings.window), heldout: [] }, plan, settings, { baseModel: 'test', ...(resume ? { resume } : {}), onState: (s) => void states.push(s) });
      return { ...r, states };
    };
    const straight = await run();
    expect(straight.losses).toHaveLength(4);
    expect(straight.states.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    // what the page keeps goes through structured clone (postMessage, IndexedDB)
    const saved = structuredClone(straight.states[1]!);
    const resumed = await run(saved);
    expect(resumed.losses).toEqual(straight.losses.slice(2));
    expect(resumed.states.map((s) => s.step)).toEqual([3, 4]);
    expect(resumed.states[1]).toEqual(straight.states[3]);
    expect(Buffer.from(resumed.adapter['adapter_model.safetensors']).equals(Buffer.from(straight.adapter['adapter_model.safetensors']))).toBe(true);
    // the moments are part of the state: a resume without them would diverge
    const noMoments = structuredClone(saved);
    for (const a of noMoments.adapters) for (const t of [a.A, a.B]) (t.m.fill(0), t.v.fill(0));
    const cold = await run(noMoments);
    expect(cold.states[1]!.adapters[0]!.B.value).not.toEqual(straight.states[3]!.adapters[0]!.B.value);
  });
});

describe('heal job state and generation with the adapters', { timeout: 300_000 }, () => {
  it('streams the state after each step; generate runs pruned + LoRA from it', async () => {
    const states: { step: number; loss: number; state: TrainerState }[] = [];
    const text = { kind: 'inline' as const, name: 'genesis', text: 'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.' };
    const reply = await engine.handle(
      { type: 'heal', plan, text, settings: { ...settings, steps: 2, lr: 5e-2 } },
      { signal: new AbortController().signal, progress: () => {}, healState: (state, loss) => void states.push({ step: state.step, loss, state }) },
    );
    if (reply.type !== 'healed') throw new Error(reply.type);
    expect(states.map((s) => s.step)).toEqual([1, 2]);
    expect(states.map((s) => s.loss)).toEqual(reply.losses);
    const gen = async (adapter?: TrainerState, key = 'k') => {
      const r = await engine.handle(
        {
          type: 'generate', prompt: 'In the beginning', plan, maxNewTokens: 8, sampling: { temperature: 0 }, seed: 0,
          ...(adapter ? { adapter: { key, plan, r: settings.r, alpha: settings.alpha, adapters: adapter.adapters.map((a) => ({ block: a.block, name: a.name, A: a.A.value, B: a.B.value })) } } : {}),
        },
        { signal: new AbortController().signal, progress: () => {} },
      );
      if (r.type !== 'generated') throw new Error(r.type);
      return r.text;
    };
    const pruned = await gen();
    const zeroB = structuredClone(states[1]!.state);
    for (const a of zeroB.adapters) a.B.value.fill(0);
    expect(await gen(zeroB, 'zero')).toBe(pruned);
    const healed = await gen(states[1]!.state, 'trained');
    expect(healed).not.toBe(pruned); // a large learning rate on this text changes the greedy continuation
    const adapter = { key: 'trained', plan, r: settings.r, alpha: settings.alpha, adapters: states[1]!.state.adapters.map((a) => ({ block: a.block, name: a.name, A: a.A.value, B: a.B.value })) };
    // Evaluate: the healed model's PPL beside the plans' (B = 0: exactly the pruned model's up to the unfused kernels)
    const ppl = async (healed: typeof adapter) => {
      const r = await engine.handle(
        { type: 'perplexity', text, window: 16, bos: 'first', plans: [plan], maxWindows: 2, healed },
        { signal: new AbortController().signal, progress: () => {} },
      );
      if (r.type !== 'perplexity') throw new Error(r.type);
      return { pruned: r.results[0]!.ppl, healed: r.healed!.ppl };
    };
    const zero = await ppl({ ...adapter, key: 'zero-ppl', adapters: adapter.adapters.map((a) => ({ ...a, B: new Float32Array(a.B.length) })) });
    expect(Math.abs(zero.healed - zero.pruned) / zero.pruned).toBeLessThan(1e-5);
    const trained = await ppl(adapter);
    expect(trained.healed).toBeLessThan(trained.pruned); // trained on this very text
    const speed = await engine.handle(
      { type: 'benchmark', plans: [plan], options: { promptTokens: 4, newTokens: 3, warmup: 0, runs: 1 }, healed: adapter },
      { signal: new AbortController().signal, progress: () => {} },
    );
    if (speed.type !== 'benchmarked') throw new Error(speed.type);
    expect(speed.results.map((r) => [r.variant, r.blocks])).toEqual([[undefined, 13], ['LoRA merged', 13], ['LoRA unmerged', 13]]);
    expect(speed.results.every((r) => r.decodeTokensPerS > 0)).toBe(true);
    await expect(engine.handle(
      { type: 'generate', prompt: 'x', plan: plan.slice(1), maxNewTokens: 2, sampling: { temperature: 0 }, seed: 0, adapter: { key: 'trained', plan, r: 8, alpha: 16, adapters: [] } },
      { signal: new AbortController().signal, progress: () => {} },
    )).rejects.toThrow(/trained for blocks/);
  });
});
