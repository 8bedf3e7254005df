import { describe, expect, it } from 'vitest';
import { expectedTensors, parseConfig } from '../../src/io/config';
import { familyDifferences } from '../../src/io/families';
import { InvalidConfigError, UnsupportedConfigError } from '../../src/io/errors';
import { syntheticConfig, tensorShapes } from '../helpers/synthetic-checkpoint';

const llama32 = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009], head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02,
  intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 32,
  num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
};

describe('config.json parsing', () => {
  it('parses a Llama 3.2 config (GQA, llama3 rope scaling, tied, eos list)', () => {
    const c = parseConfig(JSON.stringify(llama32));
    expect(c).toMatchObject({
      architecture: 'LlamaForCausalLM', hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8,
      headDim: 64, rmsNormEps: 1e-5, ropeTheta: 500000, tieWordEmbeddings: true, vocabSize: 128256, bosTokenId: 128000,
      eosTokenIds: [128001, 128008, 128009], torchDtype: 'bfloat16', maxPositionEmbeddings: 131072,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    });
  });

  it('applies defaults: kv heads = heads, head_dim = hidden/heads, rope_theta 10000, untied, no scaling', () => {
    const c = parseConfig({ model_type: 'llama', hidden_size: 64, intermediate_size: 100, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 50, rms_norm_eps: 1e-6 });
    expect(c).toMatchObject({ numKvHeads: 4, headDim: 16, ropeTheta: 10000, tieWordEmbeddings: false, ropeScaling: null, eosTokenIds: [], bosTokenId: null });
  });

  it('accepts Mistral with sliding_window null and rope_scaling "default"', () => {
    const c = parseConfig({ ...syntheticConfig(), architectures: ['MistralForCausalLM'], sliding_window: null, rope_scaling: { rope_type: 'default' } });
    expect(c.architecture).toBe('MistralForCausalLM');
    expect(c.ropeScaling).toBeNull();
    expect(parseConfig({ ...syntheticConfig(), rope_scaling: { type: 'default' } }).ropeScaling).toBeNull();
  });

  it('reads rope settings nested in rope_parameters', () => {
    const { rope_theta: _t, rope_scaling: _s, ...rest } = syntheticConfig();
    const c = parseConfig({ ...rest, rope_parameters: { rope_type: 'default', rope_theta: 123456 } });
    expect(c.ropeTheta).toBe(123456);
    expect(c.ropeScaling).toBeNull();
  });

  const unsupported: [string, Record<string, unknown>, string][] = [
    ['architectures', { architectures: ['GPT2LMHeadModel'] }, 'LlamaForCausalLM'],
    ['attention_bias', { attention_bias: true }, 'false'],
    ['mlp_bias', { mlp_bias: true }, 'false'],
    ['attention_bias', { architectures: ['Qwen2ForCausalLM'], attention_bias: true }, 'false'],
    ['hidden_act', { architectures: ['GemmaForCausalLM'], hidden_act: 'relu' }, 'gelu_pytorch_tanh'],
    ['rope_scaling.rope_type', { rope_scaling: { type: 'linear', factor: 2 } }, 'llama3'],
    ['rope_scaling.rope_type', { rope_scaling: { rope_type: 'yarn', factor: 2 } }, 'llama3'],
    ['hidden_act', { hidden_act: 'gelu' }, 'silu'],
    ['quantization_config', { quantization_config: { quant_method: 'gptq', bits: 4 } }, 'unquantized'],
  ];
  for (const [field, patch, supported] of unsupported) {
    it(`refuses ${field} = ${JSON.stringify(Object.values(patch)[0])}, naming field and what is supported`, () => {
      let error: unknown;
      try {
        parseConfig({ ...syntheticConfig(), ...patch });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnsupportedConfigError);
      expect((error as UnsupportedConfigError).field).toBe(field);
      expect((error as Error).message).toContain(field);
      expect((error as Error).message).toContain(supported);
    });
  }

  it('names every supported architecture when refusing one', () => {
    expect(() => parseConfig({ ...syntheticConfig(), architectures: ['Phi3ForCausalLM'] })).toThrow(
      /LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, GemmaForCausalLM/,
    );
  });

  it('reads each family\'s defaults and differences from LLaMA', () => {
    const base = syntheticConfig({ hidden: 64, heads: 4 });
    const llama = parseConfig({ ...base, sliding_window: 16 });
    expect(llama).toMatchObject({ family: 'llama', projectionBias: [], qkNorm: false, normOffset: 0, activation: 'silu', embedScale: null });
    expect(llama.windows.every((w) => w === null)).toBe(true); // LLaMA ignores sliding_window
    const { sliding_window: _w, ...noWindow } = { ...base, architectures: ['MistralForCausalLM'], sliding_window: 1 };
    expect(parseConfig(noWindow).windows[0]).toBe(4096); // missing key: MistralConfig's 4096
    expect(parseConfig({ ...noWindow, sliding_window: null }).windows[0]).toBeNull();
    expect(() => parseConfig({ ...noWindow, sliding_window: 0 })).toThrow(/sliding_window must be a positive integer or null/);
    const qwen2 = { ...base, architectures: ['Qwen2ForCausalLM'], sliding_window: 8, max_window_layers: 1, num_hidden_layers: 3 };
    expect(parseConfig(qwen2)).toMatchObject({ family: 'qwen2', projectionBias: ['q_proj', 'k_proj', 'v_proj'], windows: [null, null, null] });
    expect(parseConfig({ ...qwen2, use_sliding_window: true }).windows).toEqual([null, 8, 8]);
    expect(parseConfig({ ...qwen2, use_sliding_window: true, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] }).windows).toEqual([8, null, 8]);
    const { head_dim: _h, ...qwen3 } = { ...base, architectures: ['Qwen3ForCausalLM'], head_dim: 0 };
    expect(parseConfig(qwen3)).toMatchObject({ family: 'qwen3', headDim: 128, qkNorm: true, projectionBias: [] });
    expect(parseConfig({ ...qwen3, attention_bias: true }).projectionBias).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    const { tie_word_embeddings: _t, ...gemma } = { ...qwen3, architectures: ['GemmaForCausalLM'], hidden_size: 3072, hidden_act: 'gelu', tie_word_embeddings: false };
    expect(parseConfig({ ...gemma, torch_dtype: 'bfloat16' })).toMatchObject({ family: 'gemma', headDim: 256, tieWordEmbeddings: true, normOffset: 1, activation: 'gelu_tanh', embedScale: 55.5 });
    expect(parseConfig({ ...gemma, torch_dtype: 'float16' }).embedScale).toBe(55.4375);
    expect(parseConfig({ ...gemma, torch_dtype: 'float32' }).embedScale).toBe(Math.fround(Math.sqrt(3072)));
    expect(familyDifferences(parseConfig({ ...gemma, torch_dtype: 'bfloat16' }))).toEqual(['RMSNorm x (1 + w)', 'GELU (tanh) gated MLP', 'embeddings x 55.5', 'head_dim 256 (heads x head_dim != hidden)', 'tied head']);
    expect(familyDifferences(parseConfig({ ...qwen2, use_sliding_window: true }))).toEqual(['q/k/v projection biases', 'sliding window 8 (blocks 1, 2)']);
    expect(familyDifferences(llama)).toEqual([]);
  });

  it('reports missing and malformed fields', () => {
    const { hidden_size: _h, ...noHidden } = syntheticConfig();
    expect(() => parseConfig(noHidden)).toThrow(/hidden_size is missing/);
    expect(() => parseConfig({ ...syntheticConfig(), num_key_value_heads: 3 })).toThrow(InvalidConfigError);
    expect(() => parseConfig({ ...syntheticConfig(), vocab_size: -1 })).toThrow(/vocab_size must be a positive integer/);
    expect(() => parseConfig({ ...syntheticConfig(), rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(/rope_scaling.low_freq_factor is missing/);
    expect(() => parseConfig('{not json')).toThrow(InvalidConfigError);
    expect(() => parseConfig('[1]')).toThrow(/not a JSON object/);
  });

  it('bounds every number that sizes memory before anything is allocated', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['num_hidden_layers', { num_hidden_layers: 100_000_000 }],
      ['num_hidden_layers', { num_hidden_layers: Number.MAX_SAFE_INTEGER }],
      ['hidden_size', { hidden_size: 2 ** 20, num_attention_heads: 1 }],
      ['intermediate_size', { intermediate_size: 2 ** 30 }],
      ['num_attention_heads', { num_attention_heads: 4096, num_key_value_heads: 4096 }],
      ['num_key_value_heads', { num_key_value_heads: 2048 }],
      ['head_dim', { head_dim: 4096 }],
      ['vocab_size', { vocab_size: 2 ** 30 }],
      ['max_position_embeddings', { max_position_embeddings: 2 ** 40 }],
      ['rope_scaling.original_max_position_embeddings', { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 2 ** 40 } }],
    ];
    for (const [field, patch] of cases) {
      const t0 = performance.now();
      let error: unknown;
      try {
        expectedTensors(parseConfig({ ...syntheticConfig(), ...patch }));
      } catch (e) {
        error = e;
      }
      expect(error, field).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
      expect((error as Error).message).toMatch(/beyond this lab's limit/);
      expect(performance.now() - t0).toBeLessThan(50);
    }
    // Real models stay inside: Llama 3.1 405B's shape and a 10M-token context.
    const big = parseConfig({ ...llama32, num_hidden_layers: 126, hidden_size: 16384, intermediate_size: 53248, num_attention_heads: 128, head_dim: 128, max_position_embeddings: 10_485_760 });
    expect(big.numLayers).toBe(126);
  });

  it('lists the tensors a config needs with their HF shapes (GQA, explicit head_dim, tied)', () => {
    for (const opts of [{}, { kvHeads: 2 }, { tied: true }, { headDim: 8, heads: 4, hidden: 24 }]) {
      const raw = syntheticConfig(opts);
      const specs = expectedTensors(parseConfig(raw));
      const ours = new Map(specs.map((s) => [s.name, s.shape]));
      const reference = new Map(tensorShapes(raw));
      expect(ours).toEqual(reference);
      expect(specs.filter((s) => s.isNorm).every((s) => s.name.endsWith('norm.weight'))).toBe(true);
    }
  });
});
