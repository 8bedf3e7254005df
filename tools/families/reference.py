"""Functional PyTorch reference for the decoder families the lab loads, written from each family's
published Hugging Face modeling code but apart from it (no transformers import):
LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, GemmaForCausalLM.

`spec_from_config(config)` turns a config.json into what differs from LLaMA (HF's defaults for
missing keys); `forward(W, spec, ids)` runs the model on a {tensor name: tensor} dict.

Precision: the dtype of W (float64 for the fixtures) everywhere, including RMSNorm, the RoPE tables
and the softmax. That is the exact value of the model on the stored weights, the target the lab's
f32 kernels approach. HF instead computes those three (and Gemma's norm product) in float32 even
for a float64 model; `hf_f32=True` reproduces those float32 islands op for op, so the cross-check
(hf_crosscheck.py) can show agreement to float64 rounding as well as the islands' own size.
"""
import math

import torch
import torch.nn.functional as F

FAMILIES = {  # architecture -> family
    'LlamaForCausalLM': 'llama', 'MistralForCausalLM': 'mistral', 'Qwen2ForCausalLM': 'qwen2',
    'Qwen3ForCausalLM': 'qwen3', 'GemmaForCausalLM': 'gemma',
}
# HF config-class defaults for keys a config.json may leave out (transformers 5.x).
HEAD_DIM_DEFAULT = {'qwen3': 128, 'gemma': 256}          # others: hidden_size // num_attention_heads
TIE_DEFAULT = {'gemma': True}                             # others: False
SLIDING_WINDOW_DEFAULT = 4096                             # Mistral, Qwen2, Qwen3 config classes
MAX_WINDOW_LAYERS_DEFAULT = 28                            # Qwen2, Qwen3
DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float64': torch.float64}


def spec_from_config(c, gemma_gelu='tanh'):
    """What a loader must derive from config.json, family by family.

    gemma_gelu: Gemma configs say "hidden_act": "gelu". transformers 5.x rewrites that to the tanh
    approximation (GemmaConfig.__post_init__, the form Gemma was trained with); 4.45-4.57 ran
    ACT2FN["gelu"], the exact erf form. 'tanh' (default) follows current HF, 'exact' the older one.
    """
    archs = c.get('architectures') or []
    arch = next((a for a in archs if a in FAMILIES), None)
    if arch is None:
        raise ValueError(f'unsupported architecture {archs}; supported: {sorted(FAMILIES)}')
    fam = FAMILIES[arch]
    D, H = c['hidden_size'], c['num_attention_heads']
    L = c['num_hidden_layers']
    hd = c.get('head_dim') or HEAD_DIM_DEFAULT.get(fam) or D // H
    rp = c.get('rope_parameters') if isinstance(c.get('rope_parameters'), dict) else {}
    theta = c.get('rope_theta', rp.get('rope_theta', 10000.0))
    rs = c.get('rope_scaling') or (rp if rp.get('rope_type', 'default') != 'default' else None)
    if rs and (rs.get('rope_type') or rs.get('type')) not in (None, 'default'):
        raise ValueError(f'rope scaling {rs} is not covered by this reference')
    # sliding window per layer (None = full causal)
    windows = [None] * L
    if fam == 'mistral':
        w = c['sliding_window'] if 'sliding_window' in c else SLIDING_WINDOW_DEFAULT
        windows = [w] * L
    elif fam in ('qwen2', 'qwen3') and c.get('use_sliding_window', False):
        w = c['sliding_window'] if 'sliding_window' in c else SLIDING_WINDOW_DEFAULT
        types = c.get('layer_types') or ['sliding_attention' if w is not None and i >= c.get('max_window_layers', MAX_WINDOW_LAYERS_DEFAULT)
                                         else 'full_attention' for i in range(L)]
        windows = [w if t == 'sliding_attention' else None for t in types]
    act = c.get('hidden_act', 'silu')
    if fam == 'gemma' and act == 'gelu':
        act = 'gelu_pytorch_tanh' if gemma_gelu == 'tanh' else 'gelu'
    bias = ({'q_proj', 'k_proj', 'v_proj'} if fam == 'qwen2'
            else {'q_proj', 'k_proj', 'v_proj', 'o_proj'} if c.get('attention_bias', False) else set())
    dtype = c.get('torch_dtype') or c.get('dtype') or 'float32'
    return {
        'family': fam, 'architecture': arch, 'layers': L, 'hidden': D, 'heads': H,
        'kv_heads': c.get('num_key_value_heads') or H, 'head_dim': hd, 'intermediate': c['intermediate_size'],
        'vocab': c['vocab_size'], 'eps': c.get('rms_norm_eps', 1e-6), 'rope_theta': float(theta),
        'tie': c.get('tie_word_embeddings', TIE_DEFAULT.get(fam, False)),
        'bias': [p for p in ('q_proj', 'k_proj', 'v_proj', 'o_proj') if p in bias], 'qk_norm': fam == 'qwen3', 'norm_offset': 1.0 if fam == 'gemma' else 0.0,
        'act': act, 'windows': windows,
        # Gemma: hidden_size**0.5 as a tensor cast to the model dtype (bf16: sqrt(34) 5.8310 -> 5.84375)
        'embed_scale': (torch.tensor(D ** 0.5, dtype=torch.float64).to(DTYPES[dtype]).item() if fam == 'gemma' else None),
        'model_dtype': dtype,
    }


def block_tensor_names(spec):
    """Every tensor of one block (suffix after model.layers.{i}.), in a fixed order."""
    names = [f'self_attn.{p}.weight' for p in ('q_proj', 'k_proj', 'v_proj', 'o_proj')]
    names += [f'self_attn.{p}.bias' for p in spec['bias']]
    if spec['qk_norm']:
        names += ['self_attn.q_norm.weight', 'self_attn.k_norm.weight']
    names += ['mlp.gate_proj.weight', 'mlp.up_proj.weight', 'mlp.down_proj.weight',
              'input_layernorm.weight', 'post_attention_layernorm.weight']
    return names


def tensor_shapes(spec):
    """{name: shape} of the whole checkpoint as HF stores it."""
    D, I, V, hd = spec['hidden'], spec['intermediate'], spec['vocab'], spec['head_dim']
    q, kv = spec['heads'] * hd, spec['kv_heads'] * hd
    per = {'self_attn.q_proj.weight': [q, D], 'self_attn.k_proj.weight': [kv, D], 'self_attn.v_proj.weight': [kv, D],
           'self_attn.o_proj.weight': [D, q], 'self_attn.q_proj.bias': [q], 'self_attn.k_proj.bias': [kv],
           'self_attn.v_proj.bias': [kv], 'self_attn.o_proj.bias': [D], 'self_attn.q_norm.weight': [hd],
           'self_attn.k_norm.weight': [hd], 'mlp.gate_proj.weight': [I, D], 'mlp.up_proj.weight': [I, D],
           'mlp.down_proj.weight': [D, I], 'input_layernorm.weight': [D], 'post_attention_layernorm.weight': [D]}
    shapes = {'model.embed_tokens.weight': [V, D]}
    for i in range(spec['layers']):
        shapes.update({f'model.layers.{i}.{n}': per[n] for n in block_tensor_names(spec)})
    shapes['model.norm.weight'] = [D]
    if not spec['tie']:
        shapes['lm_head.weight'] = [V, D]
    return shapes


def rms_norm(x, w, eps, offset, hf_f32):
    if not hf_f32:
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * (w + offset if offset else w)
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    if offset:                                   # GemmaRMSNorm: (x * (1 + w)) in float32, then cast
        return (h * (1.0 + w.float())).to(x.dtype)
    return w * h.to(x.dtype)                     # LlamaRMSNorm / Qwen2 / Qwen3 / Mistral


def rope_tables(spec, T, dtype, hf_f32):
    hd, theta = spec['head_dim'], spec['rope_theta']
    if hf_f32:                                   # inv_freq, angles, cos/sin in float32 as HF
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        ang = inv[None, :, None] @ torch.arange(T).float()[None, None, :]
        ang = ang.transpose(1, 2)[0]
    else:
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    emb = torch.cat([ang, ang], -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(z):
    h = z.shape[-1] // 2
    return torch.cat([-z[..., h:], z[..., :h]], -1)


def activation(name, g):
    if name == 'silu':
        return g * torch.sigmoid(g)
    if name == 'gelu':                          # exact: x * Phi(x)
        return 0.5 * g * (1.0 + torch.erf(g / math.sqrt(2.0)))
    if name in ('gelu_pytorch_tanh', 'gelu_new'):
        return 0.5 * g * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * g ** 3)))
    raise ValueError(f'activation {name!r}')


def attention_mask(T, window):
    """True where query t may see key s: s <= t and, with a window W, s > t - W (W keys incl. itself)."""
    t = torch.arange(T)[:, None]
    s = torch.arange(T)[None, :]
    ok = s <= t
    return ok & (s > t - window) if window is not None else ok


def forward(W, spec, ids, skip=(), hf_f32=False, hidden=False):
    """ids LongTensor [B, T] -> logits [B, T, V] in W's dtype (and the residual streams if hidden)."""
    B, T = ids.shape
    H, KV, hd, eps, off = spec['heads'], spec['kv_heads'], spec['head_dim'], spec['eps'], spec['norm_offset']
    dt = W['model.embed_tokens.weight'].dtype
    cos, sin = rope_tables(spec, T, dt, hf_f32)
    lin = lambda x, p, name: (x @ W[p + name + '.weight'].T
                              + (W[p + name + '.bias'] if name.split('.')[-1] in spec['bias'] else 0))
    x = W['model.embed_tokens.weight'][ids]
    if spec['embed_scale'] is not None:
        x = x * torch.tensor(spec['embed_scale'], dtype=dt)
    hs = [x]
    for i in range(spec['layers']):
        if i in skip:
            continue
        p = f'model.layers.{i}.'
        h = rms_norm(x, W[p + 'input_layernorm.weight'], eps, off, hf_f32)
        q = lin(h, p, 'self_attn.q_proj').view(B, T, H, hd)
        k = lin(h, p, 'self_attn.k_proj').view(B, T, KV, hd)
        v = lin(h, p, 'self_attn.v_proj').view(B, T, KV, hd)
        if spec['qk_norm']:                      # Qwen3: RMSNorm over each head's vector, before RoPE
            q = rms_norm(q, W[p + 'self_attn.q_norm.weight'], eps, 0.0, hf_f32)
            k = rms_norm(k, W[p + 'self_attn.k_norm.weight'], eps, 0.0, hf_f32)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))          # [B, heads, T, hd]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)   # query head j -> kv head j // (H/KV)
        s = (q @ k.transpose(-1, -2)) * hd ** -0.5
        s = s.masked_fill(~attention_mask(T, spec['windows'][i]), float('-inf'))
        a = torch.softmax(s, -1, dtype=torch.float32).to(dt) if hf_f32 else torch.softmax(s, -1)
        o = (a @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + lin(o, p, 'self_attn.o_proj')
        h = rms_norm(x, W[p + 'post_attention_layernorm.weight'], eps, off, hf_f32)
        g = activation(spec['act'], h @ W[p + 'mlp.gate_proj.weight'].T)
        x = x + (g * (h @ W[p + 'mlp.up_proj.weight'].T)) @ W[p + 'mlp.down_proj.weight'].T
        hs.append(x)
    head = W['model.embed_tokens.weight'] if spec['tie'] else W['lm_head.weight']
    logits = rms_norm(x, W['model.norm.weight'], eps, off, hf_f32) @ head.T
    return (logits, hs) if hidden else logits


def mean_nll(W, spec, X, skip=()):
    """Mean next-token cross-entropy over every prediction of the batch X [N, T]."""
    lg = forward(W, spec, X, skip)
    return F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), X[:, 1:].reshape(-1))
