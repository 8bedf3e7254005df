import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/io/config';
import { memoryPlan } from '../../src/quant/memory-plan';

/** LLaMA-7B's config.json (the seed's model). */
const llama7b = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 32, rms_norm_eps: 1e-6, vocab_size: 32000, max_position_embeddings: 2048,
  tie_word_embeddings: false, torch_dtype: 'float16', bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
};
const gpuLimits = { maxBufferSize: 4 * 2 ** 30, maxStorageBufferBindingSize: 2 ** 31 - 4 };

/** Bytes of a [rows, cols] linear in groups of 32 with an f16 scale each, rows padded to 16 bytes (counted by hand). */
function quantLinear(bits: number, rows: number, cols: number): number {
  const groups = cols / 32;
  const words = groups * bits + groups / 2;
  return rows * Math.ceil(words / 4) * 16;
}

describe('memory plan from config.json', () => {
  const config = parseConfig(llama7b);
  const plan = memoryPlan(config, gpuLimits, { context: 2048 });
  const byFormat = Object.fromEntries(plan.formats.map((f) => [f.format, f]));

  it('counts the weight bytes each format holds for LLaMA-7B', () => {
    const H = 4096;
    const I = 11008;
    const norms = (32 * 2 + 1) * H * 4;
    const embedHead = 2 * 32000 * H * 2;
    const floatBlocks = 32 * (4 * H * H + 3 * H * I) * 2;
    expect(byFormat.float!.weights).toBe(floatBlocks + norms + embedHead);
    for (const [format, bits] of [['q8', 8], ['q4', 4]] as const) {
      const block = 4 * quantLinear(bits, H, H) + 2 * quantLinear(bits, I, H) + quantLinear(bits, H, I);
      expect(byFormat[format]!.weights).toBe(32 * block + norms + embedHead);
    }
    // The target: 4-bit LLaMA-7B within 4.2 GB; F16 is the familiar 13.5 GB.
    expect(byFormat.q4!.weights).toBeLessThan(4.2e9);
    expect(byFormat.float!.weights / 1e9).toBeCloseTo(13.48, 1);
    // KV cache: K and V, f32, 32 blocks x 2048 tokens x 4096.
    expect(byFormat.q4!.kvCache).toBe(2 * 32 * 2048 * H * 4);
  });

  it('recommends the most precise format that fits and says why the others do not', () => {
    // A 4 GiB-buffer adapter's default budget is 32 GiB: every format fits, F16 is recommended.
    expect(plan.recommended).toBe('float');
    // A 12 GiB budget (weights, 2 GiB of KV cache, the Taylor workspace): F16 does not fit, q8 does.
    const tight = memoryPlan(config, gpuLimits, { budgetBytes: 12 * 2 ** 30 });
    expect(tight.formats.map((f) => f.fits)).toEqual([false, true, true]);
    expect(tight.recommended).toBe('q8');
    expect(tight.formats[0]!.reason).toMatch(/budget/);
    // 8 GiB: only 4-bit; with a 512-token context 4-bit fits 6 GiB.
    expect(memoryPlan(config, gpuLimits, { budgetBytes: 8 * 2 ** 30 }).recommended).toBe('q4');
    expect(memoryPlan(config, gpuLimits, { budgetBytes: 6 * 2 ** 30 }).recommended).toBeNull();
    expect(memoryPlan(config, gpuLimits, { budgetBytes: 6 * 2 ** 30, context: 512 }).recommended).toBe('q4');
    // A buffer limit below the embedding: nothing fits.
    const small = memoryPlan(config, { maxBufferSize: 128 << 20, maxStorageBufferBindingSize: 128 << 20 });
    expect(small.recommended).toBeNull();
    expect(small.formats[2]!.reason).toMatch(/maxBufferSize/);
  });

  it('quantizing the embedding and LM head too saves their bytes', () => {
    const withEmbeddings = memoryPlan(config, gpuLimits, { embeddings: true });
    const q4 = withEmbeddings.formats.find((f) => f.format === 'q4')!;
    expect(byFormat.q4!.weights - q4.weights).toBe(2 * 32000 * 4096 * 2 - 2 * quantLinear(4, 32000, 4096));
    expect(q4.loadTransient).toBe(32000 * 4096 * 2);
  });
});
