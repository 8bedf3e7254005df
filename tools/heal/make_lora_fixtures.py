#!/usr/bin/python3
"""Golden fixtures for LoRA healing (tests/fixtures/lora/): plain torch, float64, autograd.

The embedded kjv-tiny-llama (weights read back from its F16 safetensors) with blocks 3, 7 and 11
removed; PEFT-style LoRA (y += (alpha/r) * B A x, dropout 0) on q, k, v, o, gate, up, down of every
kept block. A and B are drawn from mulberry32 exactly as src/heal/lora.ts does (plan order, targets
q k v o gate up down, row-major, f64 arithmetic then rounded to f32). Data: consecutive 16-token
windows of tests/fixtures/heldout_ids.bin. Writes
  index.json    settings, the gradient batch's loss, the 20-step run's losses
  grads.bin     f32, per adapter in order: dL/dA [r, in] then dL/dB [out, r] (B random, so dA != 0)
  adamw.bin     f32, same layout: A3 - A0, B3 - B0 after three AdamW steps on those gradients
  dropout_grads.bin  f32, the gradients with dropout 0.05 (masks from the shader's PCG hash of the
                dropout seed, the layer's salt and the element index, as shaders/lora.wgsl), for the
                adapters of the first and the last kept block only
usage: /usr/bin/python3 tools/heal/make_lora_fixtures.py
"""
import json, math, os, sys
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tiny-llama'))
from make_fixtures import inv_freq_for, load_weights, mulberry32, rms  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
MODEL = os.path.join(ROOT, 'public', 'models', 'kjv-tiny-llama')
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'lora')
REMOVED = [3, 7, 11]
R, ALPHA, SEED = 8, 16, 42
N, T = 2, 16
RUN_N = 1   # the run's micro-batches: 1 sequence of T (keeps the 40 passes of the test short)
MICRO, STEPS, RUN_LR, RUN_WARMUP = 2, 20, 2e-3, 3
ADAM_LR = 1e-3
BETAS, EPS = (0.9, 0.999), 1e-8
TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down']
DROPOUT, DROPOUT_SEED = 0.05, 7
HF = {'q': 'self_attn.q_proj', 'k': 'self_attn.k_proj', 'v': 'self_attn.v_proj', 'o': 'self_attn.o_proj',
      'gate': 'mlp.gate_proj', 'up': 'mlp.up_proj', 'down': 'mlp.down_proj'}


def f32(a):
    return torch.tensor(np.asarray(a, dtype=np.float32), dtype=torch.float64)


def init_adapters(W, plan, seed, b_bound=None):
    """[(block, name, A [r, in], B [out, r])]: A U(-1/sqrt(in), 1/sqrt(in)) from mulberry32(seed); B zero,
    or U(-b_bound, b_bound) from mulberry32(seed + 1) (the gradient fixture)."""
    ra, rb = mulberry32(seed), mulberry32(seed + 1)
    out = []
    for i in plan:
        for name in TARGETS:
            n_out, n_in = W[f'model.layers.{i}.{HF[name]}.weight'].shape
            bound = 1 / math.sqrt(n_in)
            A = f32([(ra() * 2 - 1) * bound for _ in range(R * n_in)]).view(R, n_in)
            B = torch.zeros(n_out, R, dtype=torch.float64) if b_bound is None else \
                f32([(rb() * 2 - 1) * b_bound for _ in range(n_out * R)]).view(n_out, R)
            out.append((i, name, A.requires_grad_(), B.requires_grad_()))
    return out


M32 = 0xFFFFFFFF


def pcg(v):
    """The shader's PCG hash on uint64 arrays holding u32 values."""
    s = (v * 747796405 + 2891336453) & M32
    w = (((s >> ((s >> 28) + 4)) ^ s) * 277803737) & M32
    return (w >> 22) ^ w


def dropout_mask(block, name, rows, cols, p, seed):
    """keep / (1 - p) for a layer input [rows, cols], as shaders/lora.wgsl `dropout` with the layer's
    salt (src/heal/lora.ts: (block * 8 + target index + 1) * 0x9e3779b9 mod 2^32)."""
    salt = ((block * 8 + TARGETS.index(name) + 1) * 0x9E3779B9) & M32
    key = int(pcg(np.array([(seed ^ salt) & M32], dtype=np.uint64))[0])
    idx = np.arange(rows * cols, dtype=np.uint64)
    u = (pcg(idx ^ np.uint64(key)) >> 8).astype(np.float64) / 16777216.0
    return torch.from_numpy((u >= p).astype(np.float64) / (1 - p)).view(rows, cols)


def lora_loss(W, cfg, ids, plan, adapters, dropout=0.0, seed=0):
    """Mean next-token cross-entropy of ids [B, T] with the adapters (scale alpha / r), adapter input dropout."""
    B_, Tn = ids.shape
    H, KV, hd, eps = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim'], cfg['rms_norm_eps']
    s = ALPHA / R
    ad = {(i, n): (A, B) for i, n, A, B in adapters}
    ang = torch.arange(Tn, dtype=torch.float64)[:, None] * inv_freq_for(cfg)[None, :]
    cos, sin = torch.cos(ang), torch.sin(ang)

    def rope(z):
        a, b = z[..., :hd // 2], z[..., hd // 2:]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)

    def lin(x, i, name):
        A, B = ad[(i, name)]
        xd = x
        if dropout > 0:
            xd = x * dropout_mask(i, name, B_ * Tn, x.shape[-1], dropout, seed).view(B_, Tn, -1)
        return x @ W[f'model.layers.{i}.{HF[name]}.weight'].T + s * (xd @ A.T) @ B.T

    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    x = W['model.embed_tokens.weight'][ids]
    for i in plan:
        p = f'model.layers.{i}.'
        h = rms(x, W[p + 'input_layernorm.weight'], eps)
        q = lin(h, i, 'q').view(B_, Tn, H, hd).permute(0, 2, 1, 3)
        k = lin(h, i, 'k').view(B_, Tn, KV, hd).permute(0, 2, 1, 3)
        v = lin(h, i, 'v').view(B_, Tn, KV, hd).permute(0, 2, 1, 3)
        q, k = rope(q), rope(k)
        q = q.reshape(B_, KV, H // KV, Tn, hd)
        sc = torch.einsum('bgrtd,bgsd->bgrts', q, k) / math.sqrt(hd)
        a = torch.softmax(sc.masked_fill(~causal, float('-inf')), -1)
        o = torch.einsum('bgrts,bgsd->bgrtd', a, v).reshape(B_, H, Tn, hd).permute(0, 2, 1, 3).reshape(B_, Tn, H * hd)
        x = x + lin(o, i, 'o')
        h = rms(x, W[p + 'post_attention_layernorm.weight'], eps)
        g, u = lin(h, i, 'gate'), lin(h, i, 'up')
        x = x + lin(g * torch.sigmoid(g) * u, i, 'down')
    logits = rms(x, W['model.norm.weight'], eps) @ W['lm_head.weight'].T
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def schedule(peak, step, warmup, total):
    """transformers' get_linear_schedule_with_warmup (as src/heal/schedule.ts)."""
    if step < warmup:
        return peak * step / max(1, warmup)
    return peak * max(0.0, (total - step) / max(1, total - warmup))


def adamw(params, grads, state, lr, t):
    """torch.optim.AdamW's update (weight decay 0) in float64, step t (1-based)."""
    b1, b2 = BETAS
    for p, g, (m, v) in zip(params, grads, state):
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (v.sqrt() / math.sqrt(1 - b2 ** t)).add_(EPS)
        p.addcdiv_(m, denom, value=-lr / (1 - b1 ** t))


def flat(tensors):
    return np.concatenate([t.detach().numpy().astype(np.float32).ravel() for t in tensors])


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    cfg = json.load(open(os.path.join(MODEL, 'config.json')))
    W = {k: v.double() for k, v in load_weights(os.path.join(MODEL, 'model.safetensors')).items()}
    plan = [i for i in range(cfg['num_hidden_layers']) if i not in REMOVED]
    stream = np.fromfile(os.path.join(ROOT, 'tests', 'fixtures', 'heldout_ids.bin'), dtype='<i4').astype(np.int64)
    window = lambda w, n=N: torch.from_numpy(stream[w * n * T:(w + 1) * n * T].reshape(n, T))  # noqa: E731

    # gradients at a random B (dA is zero at PEFT's B = 0)
    adapters = init_adapters(W, plan, SEED, b_bound=0.05)
    loss = lora_loss(W, cfg, window(0), plan, adapters)
    loss.backward()
    tensors = [t for _, _, A, B in adapters for t in (A, B)]
    grads = [t.grad.detach().clone() for t in tensors]
    flat(grads).astype('<f4').tofile(os.path.join(OUT, 'grads.bin'))

    # the same with dropout: the first and last kept blocks' adapters
    drop = init_adapters(W, plan, SEED, b_bound=0.05)
    loss_dropout = lora_loss(W, cfg, window(0), plan, drop, DROPOUT, DROPOUT_SEED)
    loss_dropout.backward()
    ends = (plan[0], plan[-1])
    flat([t.grad for i, _, A, B in drop if i in ends for t in (A, B)]).astype('<f4').tofile(os.path.join(OUT, 'dropout_grads.bin'))

    # three AdamW steps on those gradients, schedule warm-up 0, total 3
    params = [t.detach().clone() for t in tensors]
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    for k in range(3):
        adamw(params, grads, state, schedule(ADAM_LR, k, 0, 3), k + 1)
    flat([p - t.detach() for p, t in zip(params, tensors)]).astype('<f4').tofile(os.path.join(OUT, 'adamw.bin'))

    # 20 optimizer steps from PEFT's init, MICRO micro-batches each (mean gradient), fixed data order
    run = init_adapters(W, plan, SEED)
    tensors_run = [t for _, _, A, B in run for t in (A, B)]
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in tensors_run]
    losses = []
    for k in range(STEPS):
        for t in tensors_run:
            t.grad = None
        total = 0.0
        for j in range(MICRO):
            lj = lora_loss(W, cfg, window(1 + k * MICRO + j, RUN_N), plan, run) / MICRO
            lj.backward()
            total += lj.item()
        losses.append(total)
        with torch.no_grad():
            adamw(tensors_run, [t.grad for t in tensors_run], state, schedule(RUN_LR, k, RUN_WARMUP, STEPS), k + 1)
        print(f'step {k + 1}: loss {total:.6f}', file=sys.stderr)

    index = {
        'generator': 'tools/heal/make_lora_fixtures.py', 'model': 'public/models/kjv-tiny-llama',
        'compute': 'float64 autograd on the F16 weights', 'removed': REMOVED, 'plan': plan,
        'r': R, 'alpha': ALPHA, 'dropout': 0, 'seed': SEED, 'b_bound': 0.05, 'targets': TARGETS,
        'N': N, 'T': T, 'data': 'window w of n sequences = heldout_ids.bin[w*n*T:(w+1)*n*T] as [n, T]; gradient batch n = N, w = 0; run step k micro j: n = run.N, w = 1 + k*micro + j',
        'loss': loss.item(),
        'dropout_case': {'p': DROPOUT, 'seed': DROPOUT_SEED, 'loss': loss_dropout.item(), 'blocks': list(ends)},
        'adamw': {'lr': ADAM_LR, 'warmup': 0, 'total': 3, 'betas': BETAS, 'eps': EPS, 'weight_decay': 0},
        'run': {'steps': STEPS, 'micro': MICRO, 'N': RUN_N, 'lr': RUN_LR, 'warmup': RUN_WARMUP, 'losses': losses},
        'files': {'grads.bin': 'f32, per adapter (plan order, targets order): dA [r, in] then dB [out, r]',
                  'adamw.bin': 'f32, same layout: parameters after 3 AdamW steps minus before',
                  'dropout_grads.bin': 'f32, grads.bin layout for the dropout_case blocks only'},
    }
    json.dump(index, open(os.path.join(OUT, 'index.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()
