/**
 * The healing memory estimate (src/heal/memory.ts): adapter parameters counted per target, 16 bytes
 * each with gradients and AdamW moments; a run over the budget or with a buffer past the device's
 * binding limit is refused with the estimate in the message; the seed's 7B shape at 1 x 256 fits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/io/config';
import { backwardMemoryEstimate } from '../../src/model/backward';
import { checkHealMemory, healMemoryEstimate, HealMemoryError } from '../../src/heal/memory';

const embedded = parseConfig(readFileSync(join(process.cwd(), 'public/models/kjv-tiny-llama/config.json'), 'utf8'));
const llama7b = parseConfig({ model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, vocab_size: 32000, rms_norm_eps: 1e-6 });
const limits = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };
const plan = [0, 1, 2, 3, 4, 6, 7, 9, 11, 12, 13, 14, 15];
const s = { r: 8, batch: 4, window: 64 };

describe('healing memory estimate', () => {
  it('counts the adapters of every kept block and adds the backward of the batch', () => {
    const e = healMemoryEstimate(embedded, plan, s, limits);
    // q, k, v, o, gate, up, down of a 128-hidden, 352-intermediate, 4 x 32 / 2 x 32-head block
    const perBlock = 8 * ((128 + 128) + 2 * (64 + 128) + (128 + 128) + 2 * (352 + 128) + (128 + 352));
    expect(e.adapterParameters).toBe(perBlock * plan.length);
    expect(e.adapters).toBe(16 * e.adapterParameters);
    expect(e.backward).toBe(backwardMemoryEstimate(embedded, 4, 64, undefined, limits.maxStorageBufferBindingSize));
    expect(e.total).toBe(e.adapters + e.backward + e.loraScratch + e.evaluation);
    expect(healMemoryEstimate(embedded, plan, { ...s, batch: 8 }, limits).total).toBeGreaterThan(e.total);
    // u, du [M, r] and gate, up [M, I] for M = 4 x 64 rows; dropout needs no copy (its mask is drawn in the kernels)
    expect(e.loraScratch).toBe(4 * 256 * (2 * 8 + 2 * 352));
    expect(() => checkHealMemory(e, limits)).not.toThrow();
  });

  it('refuses over the budget, with the estimate in the message', () => {
    const e = healMemoryEstimate(embedded, plan, s, limits);
    expect(() => checkHealMemory(e, limits, e.total - 1)).toThrow(HealMemoryError);
    expect(() => checkHealMemory(e, limits, e.total - 1)).toThrow(new RegExp(`needs about ${(e.total / 2 ** 20).toFixed(1)} MiB .*adapters ${(e.adapters / 2 ** 20).toFixed(1)} MiB \\(${e.adapterParameters} parameters`));
    expect(() => checkHealMemory(e, limits, e.total)).not.toThrow();
  });

  it('refuses a buffer past the binding limit; the 7B block shape at 1 x 256 fits a 1 GiB binding', () => {
    const big = healMemoryEstimate(llama7b, Array.from({ length: 26 }, (_, i) => i), { r: 8, batch: 64, window: 512 }, limits);
    expect(() => checkHealMemory(big, limits)).toThrow(/needs .* more than this device binds/);
    const seed = healMemoryEstimate(llama7b, Array.from({ length: 26 }, (_, i) => i), { r: 8, batch: 1, window: 256 }, limits);
    expect(seed.adapterParameters).toBe(26 * 8 * (4 * (4096 + 4096) + 3 * (4096 + 11008)));
    expect(() => checkHealMemory(seed, limits)).not.toThrow();
  });
});
