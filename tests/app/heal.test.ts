/**
 * The heal job end to end on the embedded model (blocks 3, 7, 11 removed): a short run on an inline
 * text returns a loss per step, progress per step, and a PEFT adapter folder whose tensors have the
 * pruned checkpoint's numbering and trained (non-zero) B; the same settings give the same losses.
 * Held-out PPL before healing (adapters with B = 0, through the adapter forward) equals the perplexity
 * job's PPL of the pruned plan; after training on that same text it is lower.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/app/lab';
import { parseHeaderLength, parseSafetensorsHeader } from '../../src/io/safetensors';
import { acquireNodeDevice } from '../../src/node/dawn';
import { nodeHost } from '../../src/node/host';
import { HEAL_DEFAULTS } from '../../src/heal/run';

let engine: LabEngine;
beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('heal-test'), nodeHost);
  await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
});
afterAll(() => engine?.dispose());

const plan = [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15];
const text = 'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God said, Let there be light: and there was light.';
const settings = { ...HEAL_DEFAULTS, steps: 3, batch: 1, micro: 2, window: 16, lr: 1e-2, warmupSteps: 1, seed: 3, evalEvery: 1 };

describe('heal job', { timeout: 300_000 }, () => {
  it('trains, reports each step and returns a PEFT adapter folder; deterministic', async () => {
    const run = async () => {
      const events: string[] = [];
      const reply = await engine.handle(
        { type: 'heal', plan, text: { kind: 'inline', name: 'genesis', text }, settings, heldout: { kind: 'inline', name: 'genesis', text }, heldoutWindows: 4 },
        { signal: new AbortController().signal, progress: (e) => events.push(e.what) },
      );
      if (reply.type !== 'healed') throw new Error(`unexpected reply ${reply.type}`);
      return { reply, events };
    };
    const { reply, events } = await run();
    expect(reply.losses).toHaveLength(3);
    expect(reply.losses.every(Number.isFinite)).toBe(true);
    expect(events).toHaveLength(3);
    expect(events[2]).toMatch(/^step 3: loss /);
    expect(reply.windows).toBeGreaterThanOrEqual(2);
    const config = JSON.parse(reply.adapterConfig);
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, lora_dropout: 0.05 });
    const file = reply.adapterSafetensors;
    const n = parseHeaderLength('a', file.byteLength, file.subarray(0, 8));
    const h = parseSafetensorsHeader('a', file.byteLength, n, file.subarray(8, 8 + n));
    expect(h.tensors).toHaveLength(plan.length * 7 * 2);
    expect(h.tensors.some((t) => t.name === 'base_model.model.model.layers.12.mlp.down_proj.lora_B.weight')).toBe(true);
    expect(h.tensors.some((t) => t.name.includes('layers.13.'))).toBe(false);
    const b = h.tensors.find((t) => t.name === 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!;
    const values = new Float32Array(file.slice(b.begin, b.end).buffer);
    expect(values.some((v) => v !== 0)).toBe(true); // B starts at zero; warm-up step 1 has rate 0, steps 2-3 move it
    const ppl = await engine.handle(
      { type: 'perplexity', text: { kind: 'inline', name: 'genesis', text }, window: 16, bos: 'first', plans: [plan], maxWindows: 4 },
      { signal: new AbortController().signal, progress: () => {} },
    );
    if (ppl.type !== 'perplexity') throw new Error(`unexpected reply ${ppl.type}`);
    console.log(`held-out PPL ${reply.heldout!.before} -> ${reply.heldout!.after} (pruned ${ppl.results[0]!.ppl})`);
    expect(reply.heldout!.windows).toBe(ppl.results[0]!.windows);
    expect(Math.abs(reply.heldout!.before - ppl.results[0]!.ppl) / ppl.results[0]!.ppl).toBeLessThan(1e-5);
    expect(reply.heldout!.after).toBeLessThan(reply.heldout!.before);
    // evaluations before training and at each step (evalEvery 1); the returned adapter is the best one
    expect(reply.evaluations.map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(reply.evaluations[0]!.ppl).toBe(reply.heldout!.before);
    const best = reply.evaluations.reduce((a, e) => (e.loss < a.loss ? e : a));
    expect(reply.heldout!.bestStep).toBe(best.step);
    expect(reply.heldout!.after).toBe(best.ppl);
    const again = await run();
    expect(again.reply.losses).toEqual(reply.losses);
  });

  it('.jsonl Alpaca rows: held-out split from the rows, prompts masked; a bad row named, a run over the memory budget refused up front', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ instruction: `Who begat number ${i}?`, input: i % 2 ? 'Genesis' : '', output: text.slice(i * 10, i * 10 + 60) }));
    const reply = await engine.handle(
      { type: 'heal', plan, text: { kind: 'inline', name: 'genesis.jsonl', text: rows.join('\n') }, settings: { ...settings, steps: 2, micro: 1, window: 96, heldoutRows: 3, evalEvery: 1 } },
      { signal: new AbortController().signal, progress: () => {} },
    );
    if (reply.type !== 'healed') throw new Error(`unexpected reply ${reply.type}`);
    expect(reply.data).toMatchObject({ format: 'jsonl-alpaca', train: 9, heldout: 3, dropped: 0 });
    expect(reply.windows).toBe(9);
    expect(reply.evaluations.map((e) => e.step)).toEqual([0, 1, 2]);
    expect(reply.losses.every(Number.isFinite)).toBe(true);
    await expect(engine.handle(
      { type: 'heal', plan, text: { kind: 'inline', name: 'genesis.jsonl', text: rows.join('\n') }, settings: { ...settings, heldoutRows: 3 } },
      { signal: new AbortController().signal, progress: () => {} },
    )).rejects.toThrow(/no training row keeps a target token within 16 tokens/);
    await expect(engine.handle(
      { type: 'heal', plan, text: { kind: 'inline', name: 'genesis', text }, settings: { ...settings, memoryBudgetMiB: 1 } },
      { signal: new AbortController().signal, progress: () => {} },
    )).rejects.toThrow(/healing refused: it needs about [\d.]+ MiB of GPU memory beside the weights, more than the 1.0 MiB budget/);
    await expect(engine.handle(
      { type: 'heal', plan, text: { kind: 'inline', name: 'bad.jsonl', text: `${rows[0]}\n{"instruction": 1}` }, settings },
      { signal: new AbortController().signal, progress: () => {} },
    )).rejects.toThrow(/bad.jsonl: line 2: "instruction" must be a string/);
  });

  it('a non-finite loss ends the run with a message and the best adapter of the good steps', async () => {
    // lr 1e30: step 1's update sends the adapters to ~1e30, so step 2's forward overflows
    const reply = await engine.handle(
      { type: 'heal', plan, text: { kind: 'inline', name: 'genesis', text }, settings: { ...settings, steps: 3, micro: 1, lr: 1e30, warmupSteps: 0, evalEvery: 0 }, heldout: { kind: 'inline', name: 'genesis', text }, heldoutWindows: 2 },
      { signal: new AbortController().signal, progress: () => {} },
    );
    if (reply.type !== 'healed') throw new Error(`unexpected reply ${reply.type}`);
    expect(reply.stopped).toMatchObject({ step: 1, message: expect.stringMatching(/loss at optimizer step 2 is (NaN|-?Infinity)/) });
    expect(reply.losses).toHaveLength(1);
    // the last good adapters (after step 1) were evaluated; their held-out loss is not finite, so the best is step 0
    expect(reply.evaluations.map((e) => e.step)).toEqual([0, 1]);
    expect(Number.isFinite(reply.evaluations[1]!.loss)).toBe(false);
    expect(reply.heldout).toMatchObject({ bestStep: 0, after: reply.heldout!.before });
    expect(reply.adapterSafetensors.byteLength).toBeGreaterThan(0);
  });
});
