"""The small random checkpoints of tests/fixtures/families/: config.json as each family ships it
(the real keys, including the ones a loader must ignore or default), shapes odd enough to catch
layout bugs, and seeded random weights.

Each config copies the key set of a published model (noted per entry) with tiny sizes; token ids
are those of the embedded model's tokenizer (public/models/kjv-tiny-llama), whose files are copied.
"""
import torch

from reference import spec_from_config, tensor_shapes

TOKENS = {'bos_token_id': 1, 'eos_token_id': 2, 'vocab_size': 4096}

CHECKPOINTS = {
    # Qwen/Qwen2.5-0.5B: q/k/v biases, tied embeddings, rope_theta 1e6, no head_dim key (hidden/heads),
    # sliding_window set but use_sliding_window false: no window anywhere.
    'qwen2': {
        'architectures': ['Qwen2ForCausalLM'], 'attention_dropout': 0.0, **TOKENS, 'hidden_act': 'silu',
        'hidden_size': 42, 'initializer_range': 0.02, 'intermediate_size': 94, 'max_position_embeddings': 32768,
        'max_window_layers': 3, 'model_type': 'qwen2', 'num_attention_heads': 3, 'num_hidden_layers': 5,
        'num_key_value_heads': 1, 'rms_norm_eps': 1e-06, 'rope_theta': 1000000.0, 'sliding_window': 32768,
        'tie_word_embeddings': True, 'torch_dtype': 'bfloat16', 'transformers_version': '4.43.1', 'use_cache': True,
        'use_mrope': False, 'use_sliding_window': False},
    # Qwen/Qwen3-0.6B: q_norm / k_norm, head_dim 18 != hidden/heads (34/4), integer rope_theta,
    # sliding_window null, attention_bias false, tied.
    'qwen3': {
        'architectures': ['Qwen3ForCausalLM'], 'attention_bias': False, 'attention_dropout': 0.0, **TOKENS,
        'head_dim': 18, 'hidden_act': 'silu', 'hidden_size': 34, 'initializer_range': 0.02, 'intermediate_size': 70,
        'max_position_embeddings': 40960, 'max_window_layers': 28, 'model_type': 'qwen3', 'num_attention_heads': 4,
        'num_hidden_layers': 5, 'num_key_value_heads': 2, 'rms_norm_eps': 1e-06, 'rope_scaling': None,
        'rope_theta': 1000000, 'sliding_window': None, 'tie_word_embeddings': True, 'torch_dtype': 'bfloat16',
        'transformers_version': '4.51.0', 'use_cache': True, 'use_sliding_window': False},
    # google/gemma-2b: multi-query (1 kv head), head_dim 256 with hidden 34, "hidden_act": "gelu" beside
    # "hidden_activation": "gelu_pytorch_tanh", no tie_word_embeddings key (Gemma ties by default),
    # RMSNorm weights stored as offsets from 1, sqrt(hidden) = sqrt(34) = 5.8310 becomes 5.84375 in bf16.
    'gemma': {
        'architectures': ['GemmaForCausalLM'], 'attention_bias': False, 'attention_dropout': 0.0,
        'bos_token_id': 1, 'eos_token_id': 2, 'head_dim': 256, 'hidden_act': 'gelu',
        'hidden_activation': 'gelu_pytorch_tanh', 'hidden_size': 34, 'initializer_range': 0.02,
        'intermediate_size': 78, 'max_position_embeddings': 8192, 'model_type': 'gemma', 'num_attention_heads': 2,
        'num_hidden_layers': 4, 'num_key_value_heads': 1, 'pad_token_id': 0, 'rms_norm_eps': 1e-06,
        'rope_scaling': None, 'rope_theta': 10000.0, 'torch_dtype': 'bfloat16', 'transformers_version': '4.38.0',
        'use_cache': True, 'vocab_size': 4096},
    # mistralai/Mistral-7B-v0.1: sliding_window 7 (shorter than every test sequence), GQA 4:2, untied head,
    # no head_dim key, rms_norm_eps 1e-5.
    'mistral': {
        'architectures': ['MistralForCausalLM'], **TOKENS, 'hidden_act': 'silu', 'hidden_size': 32,
        'initializer_range': 0.02, 'intermediate_size': 76, 'max_position_embeddings': 32768,
        'model_type': 'mistral', 'num_attention_heads': 4, 'num_hidden_layers': 6, 'num_key_value_heads': 2,
        'rms_norm_eps': 1e-05, 'rope_theta': 10000.0, 'sliding_window': 7, 'tie_word_embeddings': False,
        'torch_dtype': 'bfloat16', 'transformers_version': '4.34.0', 'use_cache': True},
}
# The Qwen2 sliding-window rule (no shipped Qwen2.5 enables it): use_sliding_window true windows only
# layers >= max_window_layers, here blocks 2, 3, 4 with 5 keys; blocks 0, 1 see everything.
CHECKPOINTS['qwen2-window'] = {**CHECKPOINTS['qwen2'], 'hidden_size': 30, 'intermediate_size': 62,
                               'max_position_embeddings': 4096, 'max_window_layers': 2, 'sliding_window': 5,
                               'use_sliding_window': True}
# Qwen3 with attention_bias true (no published Qwen3 sets it; HF then biases q, k, v and o_proj).
CHECKPOINTS['qwen3-bias'] = {**CHECKPOINTS['qwen3'], 'attention_bias': True, 'head_dim': 12, 'hidden_size': 26,
                             'intermediate_size': 46, 'num_attention_heads': 2, 'num_hidden_layers': 4,
                             'num_key_value_heads': 1}

SEEDS = {'qwen2': 7, 'qwen2-window': 8, 'qwen3': 9, 'gemma': 10, 'mistral': 11, 'qwen3-bias': 12}

DIFFERENCES = {  # one line per family: what differs from LLaMA
    'qwen2': 'q/k/v projection biases; tied embeddings (small sizes); rope_theta 1e6; sliding window only with use_sliding_window',
    'qwen2-window': 'Qwen2 with use_sliding_window: layers >= max_window_layers attend to the last sliding_window keys only',
    'qwen3': 'RMSNorm over each head of q and k (q_norm, k_norm) before RoPE; head_dim independent of hidden/heads; attention_bias adds q/k/v/o biases',
    'gemma': 'GELU(tanh) gated MLP; RMSNorm x * (1 + w); embeddings times sqrt(hidden) in the model dtype; tied head; head_dim 256; multi-query in the 2B',
    'mistral': 'sliding-window causal attention (sliding_window keys; missing key = 4096, null = none)',
    'qwen3-bias': 'Qwen3 with attention_bias: biases on q, k, v and o_proj',
}


def random_weights(cfg, seed):
    """{name: float64 tensor}: projections N(0, 1/fan_in), biases N(0, 0.2^2), norm weights
    1 + N(0, 0.2^2) (Gemma stores the offset: N(0, 0.2^2)), embeddings / head N(0, 0.5^2): peaked
    enough that greedy margins and score gaps stay far above float32 rounding."""
    spec = spec_from_config(cfg)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in tensor_shapes(spec).items():
        r = torch.randn(shape, generator=g, dtype=torch.float64)
        if name.endswith('norm.weight'):
            out[name] = 0.2 * r + (0.0 if spec['norm_offset'] else 1.0)
        elif name.endswith('.bias'):
            out[name] = 0.2 * r
        elif name in ('model.embed_tokens.weight', 'lm_head.weight'):
            out[name] = 0.5 * r
        else:
            out[name] = shape[1] ** -0.5 * r
    return out
