#!/usr/bin/python3
"""Step 5: golden fixtures for the TypeScript/WebGPU engine (tests/fixtures/).

An independent float64 PyTorch implementation of LlamaForCausalLM (functional, written apart from
model.py) evaluated on the weights read back from the shipped safetensors (F16 / BF16 values exactly).
See tests/fixtures/README.md for the format.  usage: /usr/bin/python3 tools/tiny-llama/make_fixtures.py
"""
import json, math, os, shutil, sys, time
import numpy as np
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe, st

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
MODEL = os.environ.get('TINY_LLAMA_MODEL_DIR', os.path.join(ROOT, 'public', 'models', 'kjv-tiny-llama'))
FIX = os.environ.get('TINY_LLAMA_FIXTURE_DIR', os.path.join(ROOT, 'tests', 'fixtures'))
VARIANT = os.path.join(FIX, 'variant-llama')
T, N, SEED = 128, 10, 1234
PROMPTS = ['In the beginning God created', 'And the LORD spake unto Moses, saying, Speak unto the children of Israel,',
           'For God so loved the world, that he gave']
VARIANT_PROMPTS = ['And it came to pass, when the king heard it,', 'Blessed are the meek: for they shall inherit the earth.']
VARIANT_WINDOWS = 4
QUICK = os.environ.get('FIX_QUICK') == '1'   # smoke test only: 4 held-out windows
HELDOUT_WINDOWS = 64   # held-out PPL fixtures use the first 64 windows of each protocol (compute cap)
KINDS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj',
         'mlp.up_proj', 'mlp.down_proj', 'input_layernorm', 'post_attention_layernorm']
files = {}


# ---------------------------------------------------------------- PRNG + calibration sampling
def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0
    return rand


def sample_calibration(docs_ids, n, t, seed):
    rand = mulberry32(seed)
    used, out, fails = set(), [], 0
    while len(out) < n:
        d = math.floor(rand() * len(docs_ids))
        if d in used or len(docs_ids[d]) < t:
            used.add(d)
            fails += 1
            if fails >= len(docs_ids):
                raise RuntimeError('calibration sampling: no progress')
            continue
        s = math.floor(rand() * (len(docs_ids[d]) - t + 1))
        used.add(d)
        out.append((d, s))
        fails = 0
    return out


# ---------------------------------------------------------------- float64 reference model
def inv_freq_for(cfg):
    hd, theta = cfg['head_dim'], cfg['rope_theta']
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    rs = cfg.get('rope_scaling')
    if rs and rs.get('rope_type') == 'llama3':   # == transformers _compute_llama3_parameters
        factor, lo, hi, old = rs['factor'], rs['low_freq_factor'], rs['high_freq_factor'], rs['original_max_position_embeddings']
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        out = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wl < high_wl) & ~(wl > low_wl)
        inv = torch.where(medium, smoothed, out)
    return inv


def rms(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def ref_forward(W, cfg, ids, skip=(), hidden=False):
    """ids LongTensor [B,T] -> logits [B,T,V] float64 (and the residual streams h_0..h_L if hidden)."""
    B, Tn = ids.shape
    H, KV, hd, eps = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim'], cfg['rms_norm_eps']
    ang = torch.arange(Tn, dtype=torch.float64)[:, None] * inv_freq_for(cfg)[None, :]      # [T, hd/2]
    cos, sin = torch.cos(ang), torch.sin(ang)

    def rope(z):                           # z [B, heads, T, hd]; rotate_half convention
        a, b = z[..., :hd // 2], z[..., hd // 2:]
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)

    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    x = W['model.embed_tokens.weight'][ids]
    hs = [x]
    for i in range(cfg['num_hidden_layers']):
        if i in skip:
            continue
        p = f'model.layers.{i}.'
        h = rms(x, W[p + 'input_layernorm.weight'], eps)
        q = torch.einsum('btd,od->bto', h, W[p + 'self_attn.q_proj.weight']).view(B, Tn, H, hd).permute(0, 2, 1, 3)
        k = torch.einsum('btd,od->bto', h, W[p + 'self_attn.k_proj.weight']).view(B, Tn, KV, hd).permute(0, 2, 1, 3)
        v = torch.einsum('btd,od->bto', h, W[p + 'self_attn.v_proj.weight']).view(B, Tn, KV, hd).permute(0, 2, 1, 3)
        q, k = rope(q), rope(k)
        q = q.reshape(B, KV, H // KV, Tn, hd)                 # query head j uses kv head j // (H/KV)
        s = torch.einsum('bgrtd,bgsd->bgrts', q, k) / math.sqrt(hd)
        s = s.masked_fill(~causal, float('-inf'))
        a = torch.softmax(s, -1)
        o = torch.einsum('bgrts,bgsd->bgrtd', a, v).reshape(B, H, Tn, hd).permute(0, 2, 1, 3).reshape(B, Tn, H * hd)
        x = x + torch.einsum('bti,oi->bto', o, W[p + 'self_attn.o_proj.weight'])
        h = rms(x, W[p + 'post_attention_layernorm.weight'], eps)
        g = torch.einsum('btd,od->bto', h, W[p + 'mlp.gate_proj.weight'])
        u = torch.einsum('btd,od->bto', h, W[p + 'mlp.up_proj.weight'])
        x = x + torch.einsum('bti,oi->bto', g * torch.sigmoid(g) * u, W[p + 'mlp.down_proj.weight'])
        hs.append(x)
    head = W['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else W['lm_head.weight']
    logits = torch.einsum('btd,vd->btv', rms(x, W['model.norm.weight'], eps), head)
    return (logits, hs) if hidden else logits


def mean_nll(W, cfg, X, skip=(), bs=16):
    tot, cnt = 0.0, 0
    for i in range(0, len(X), bs):
        x = X[i:i + bs]
        lg = ref_forward(W, cfg, x, skip)
        lp = torch.log_softmax(lg[:, :-1], -1)
        tot += -lp.gather(-1, x[:, 1:, None]).sum().item()
        cnt += x[:, 1:].numel()
    return tot / cnt


def window_nll(W, cfg, X, bs=16):
    out = []
    for i in range(0, len(X), bs):
        x = X[i:i + bs]
        lp = torch.log_softmax(ref_forward(W, cfg, x)[:, :-1], -1)
        out += (-lp.gather(-1, x[:, 1:, None])[..., 0].mean(1)).tolist()
    return out


def greedy(W, cfg, ids, n):
    x = list(ids)
    for _ in range(n):
        x.append(int(ref_forward(W, cfg, torch.tensor([x]))[0, -1].argmax()))
    return x[len(ids):]


def load_weights(path):
    return {k: torch.from_numpy(v) for k, v in st.load(path).items()}


def write_bin(name, arr, dtype, meaning):
    arr = np.ascontiguousarray(arr, dtype=dtype)
    arr.astype('<' + np.dtype(dtype).str[1:]).tofile(os.path.join(FIX, name))
    files[name] = {'dtype': {np.float32: 'float32', np.int32: 'int32'}[dtype], 'shape': list(arr.shape),
                   'meaning': meaning}


def order(scores):
    return sorted(range(len(scores)), key=lambda i: (scores[i], i))


# ---------------------------------------------------------------- main model fixtures
def main():
    torch.set_num_threads(2)
    t0 = time.time()
    os.makedirs(FIX, exist_ok=True)
    cfg = json.load(open(os.path.join(MODEL, 'config.json')))
    W = load_weights(os.path.join(MODEL, 'model.safetensors'))
    L = cfg['num_hidden_layers']
    tok = bpe.Tokenizer.load(MODEL)
    idx = {'generator': 'tools/tiny-llama/make_fixtures.py', 'model': 'public/models/kjv-tiny-llama',
           'compute': 'float64 on the F16 weights of model.safetensors', 'T': T, 'N': N, 'seed': SEED}

    r = mulberry32(SEED)
    idx['mulberry32'] = {'seed': SEED, 'first8': [r() for _ in range(8)]}

    # tokenizer cases (checked against transformers.js by tests/unit/tokenizer.test.ts)
    cases = ['In the beginning God created the heaven and the earth.', 'And the LORD spake unto Moses, saying,',
             'Héllo wörld! 你好，世界 🙂👍🏽\t tabs\u00a0nbsp\u2003em  \n\n\r\n  trailing   ', '']
    idx['tokenizer_cases'] = [{'text': c, 'ids': tok.encode(c)} for c in cases]

    # calibration set
    text = open(os.path.join(ROOT, 'public', 'data', 'kjv-calib.txt'), encoding='utf-8').read()
    docs = text[:-1].split('\n\n')
    dids = [tok.encode(d) for d in docs]
    draws = sample_calibration(dids, N, T, SEED)
    calib = [dids[d][s:s + T] for d, s in draws]
    # "BOS on every sample": the same sampling rule run on the no-special-token encodings
    # (draw range len(nobos)-T+1), window = [BOS] + nobos[s:s+T-1]
    nobos = [tok.encode(d, add_bos=False) for d in docs]
    draws_b = sample_calibration(nobos, N, T, SEED)
    calib_bos = [[bpe.BOS] + nobos[d][s:s + T - 1] for d, s in draws_b]
    idx['calibration'] = {
        'source': 'public/data/kjv-calib.txt', 'num_docs': len(docs),
        'doc_token_counts': [len(x) for x in dids],
        'draws': [{'doc': d, 'start': s} for d, s in draws],
        'ids': calib,
        'draws_bos_every': [{'doc': d, 'start': s} for d, s in draws_b], 'ids_bos_every': calib_bos}
    X = torch.tensor(calib)
    XB = torch.tensor(calib_bos)

    # evaluation stream
    held = open(os.path.join(ROOT, 'public', 'data', 'kjv-heldout.txt'), encoding='utf-8').read()
    ev = tok.encode(held)
    nw_all = len(ev) // T
    nw = min(nw_all, 4 if QUICK else HELDOUT_WINDOWS)
    write_bin('heldout_ids.bin', ev, np.int32, 'held-out text (whole file) tokenized once, BOS only at position 0')
    E0 = torch.tensor(ev[:nw * T]).view(nw, T)
    body = ev[1:]
    nb_all = len(body) // (T - 1)
    nb = min(nb_all, nw)
    E1 = torch.cat([torch.full((nb, 1), bpe.BOS), torch.tensor(body[:nb * (T - 1)]).view(nb, T - 1)], 1)
    print(f'[{time.time()-t0:.0f}s] held-out PPL ({nw} windows)...', flush=True)
    wn0 = window_nll(W, cfg, E0)
    wn1 = window_nll(W, cfg, E1)
    write_bin('heldout_window_nll.bin', wn0, np.float32, 'mean NLL (nats) of each BOS-at-start window [0..W)')
    idx['heldout'] = {
        'source': 'public/data/kjv-heldout.txt', 'tokens': len(ev),
        'capped': f'PPLs use only the first {nw} windows of each protocol (of {nw_all} / {nb_all}); heldout_ids.bin is the full stream',
        'bos_at_start': {'windows': nw, 'windows_total': nw_all, 'rule': 'ids[w*T:(w+1)*T] for w < windows',
                         'predictions': nw * (T - 1), 'ppl': math.exp(sum(wn0) / nw)},
        'bos_every_window': {'windows': nb, 'windows_total': nb_all,
                             'rule': '[BOS] + ids[1 + w*(T-1) : 1 + (w+1)*(T-1)] for w < windows',
                             'predictions': nb * (T - 1), 'ppl': math.exp(sum(wn1) / nb)}}
    print(idx['heldout'], flush=True)

    # prompts: logits at first/middle/last position + greedy continuation
    pl, prompts = [], []
    for p in PROMPTS:
        ids = tok.encode(p)
        lg = ref_forward(W, cfg, torch.tensor([ids]))[0]
        pos = [0, (len(ids) - 1) // 2, len(ids) - 1]
        pl.append(lg[pos].numpy())
        g = greedy(W, cfg, ids, 32)
        prompts.append({'text': p, 'ids': ids, 'positions': pos, 'greedy32': g, 'greedy32_text': tok.decode(g)})
    write_bin('prompt_logits.bin', np.stack(pl), np.float32,
              'logits [prompt, position (first, middle, last; see prompts[].positions), vocab]')
    idx['prompts'] = prompts
    print(f'[{time.time()-t0:.0f}s] prompts done', flush=True)

    # calibration criteria
    full = mean_nll(W, cfg, X)
    LQ = 2 if QUICK else L
    ppl_rm = [math.exp(mean_nll(W, cfg, X, skip=(i,))) for i in range(LQ)]
    ppl_rm_b = [math.exp(mean_nll(W, cfg, XB, skip=(i,))) for i in range(LQ)]
    crit = {'loss': 'mean next-token cross-entropy over N x (T-1) predictions; PPL = exp(loss)',
            'full_ppl': math.exp(full), 'full_ppl_bos_every': math.exp(mean_nll(W, cfg, XB)),
            'ppl_block_removed': ppl_rm, 'ppl_order': order(ppl_rm),
            'ppl_block_removed_bos_every': ppl_rm_b, 'ppl_order_bos_every': order(ppl_rm_b)}
    print(f'[{time.time()-t0:.0f}s] PPL criterion done', flush=True)

    # Taylor (one batch, float64 autograd)
    Wg = {k: v.clone().requires_grad_(k.startswith('model.layers.')) for k, v in W.items()}
    lg = ref_forward(Wg, cfg, X)
    loss = torch.nn.functional.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), X[:, 1:].reshape(-1))
    loss.backward()
    tay = [[(Wg[f'model.layers.{i}.{k}.weight'] * Wg[f'model.layers.{i}.{k}.weight'].grad).abs().sum().item()
            for k in KINDS] for i in range(L)]
    mag = [[W[f'model.layers.{i}.{k}.weight'].abs().sum().item() for k in KINDS] for i in range(L)]
    crit['weight_kinds'] = KINDS
    crit['taylor_loss'] = loss.item()
    crit['taylor_per_weight'] = tay
    crit['taylor_block'] = [sum(r) for r in tay]
    crit['taylor_order'] = order(crit['taylor_block'])
    crit['magnitude_per_weight'] = mag
    crit['magnitude_block'] = [sum(r) for r in mag]
    crit['magnitude_order'] = order(crit['magnitude_block'])
    # finite-difference check of a few gradient entries
    fd = []
    for name, ij in [('model.layers.3.mlp.down_proj.weight', (5, 7)), ('model.layers.10.self_attn.q_proj.weight', (2, 11)),
                     ('model.layers.0.input_layernorm.weight', (4,))]:
        h = 1e-5
        Wp = dict(W); Wm = dict(W)
        Wp[name] = W[name].clone(); Wp[name][ij] += h
        Wm[name] = W[name].clone(); Wm[name][ij] -= h
        num = (mean_nll(Wp, cfg, X) - mean_nll(Wm, cfg, X)) / (2 * h)
        fd.append({'weight': name, 'index': list(ij), 'autograd': Wg[name].grad[ij].item(), 'finite_diff': num})
    idx['checks'] = {'taylor_finite_difference': fd}
    print(fd, flush=True)

    # Block Influence + angular distances
    with torch.no_grad():
        _, hs = ref_forward(W, cfg, X, hidden=True)
    cosf = lambda a, b: (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    bi = [(1 - cosf(hs[i], hs[i + 1])).mean().item() for i in range(L)]
    crit['bi'] = bi
    crit['bi_order'] = order(bi)
    ang = {}
    for n in range(1, 5):
        d = [(torch.arccos(cosf(hs[l][:, -1], hs[l + n][:, -1]).clamp(-1, 1)) / math.pi).mean().item()
             for l in range(L - n + 1)]
        best = order(d)[0]
        ang[str(n)] = {'d': d, 'best_start': best, 'remove_blocks': list(range(best, best + n))}
    crit['angular'] = ang
    # iterative PPL (SLEB-style greedy)
    removed, it = [], []
    for k in range(1, 2 if QUICK else 5):
        cand = [(ppl_rm[i] if k == 1 else math.exp(mean_nll(W, cfg, X, skip=tuple(removed + [i]))), i)
                for i in range(LQ) if i not in removed]
        p, i = min(cand)
        removed.append(i)
        it.append({'k': k, 'removed': list(removed), 'ppl': p})
    crit['iterative_ppl'] = it
    crit['notes'] = ('orders: ascending score (ties by block index) = least important first. BI uses h_0..h_L '
                     '(h_i entering block i, h_L = last block output before the final norm), mean over all N*T tokens. '
                     'angular: d[l] = mean over samples of arccos(cos(h_l, h_(l+n)))/pi at position T-1, l = 0..L-n; '
                     'remove blocks best_start..best_start+n-1. iterative_ppl: greedy, each step removes the block '
                     'giving the lowest calibration PPL given the blocks already removed.')
    idx['criteria'] = crit
    print(f'[{time.time()-t0:.0f}s] criteria done', flush=True)

    # float32 cross-check of the float64 reference (model.py, independent code path)
    import model as M
    m = M.LlamaForCausalLM(cfg)
    m.load_state_dict({k: v.float() for k, v in W.items()})
    with torch.no_grad():
        l32 = m(X).double()
        l64 = ref_forward(W, cfg, X)
    idx['checks']['float32_vs_float64_calib_logits_max_abs_diff'] = (l32 - l64).abs().max().item()
    print(idx['checks'], flush=True)

    idx['variant'] = make_variant(tok)
    idx['files'] = files
    with open(os.path.join(FIX, 'index.json'), 'w', encoding='utf-8') as f:
        json.dump(idx, f, ensure_ascii=False, indent=1)
        f.write('\n')
    print(f'[{time.time()-t0:.0f}s] done', flush=True)


# ---------------------------------------------------------------- random-weight variant checkpoint
def make_variant(tok):
    import export
    cfg = {'hidden_size': 128, 'intermediate_size': 256, 'num_hidden_layers': 3, 'num_attention_heads': 2,
           'num_key_value_heads': 1, 'head_dim': 64, 'rms_norm_eps': 1e-6, 'rope_theta': 500000.0,
           'vocab_size': len(tok.vocab)}
    rs = {'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
          'original_max_position_embeddings': 64}
    hf = export.hf_config(cfg, tie=True, dtype='bfloat16', rope_scaling=rs, max_pos=512)
    os.makedirs(VARIANT, exist_ok=True)
    g = torch.Generator().manual_seed(42)
    tensors = []
    for name in export.hf_names(cfg['num_hidden_layers'])[:-1]:        # tied: no lm_head.weight
        D, I, hd = cfg['hidden_size'], cfg['intermediate_size'], cfg['head_dim']
        shape = {'embed_tokens': (cfg['vocab_size'], D), 'q_proj': (2 * hd, D), 'k_proj': (hd, D), 'v_proj': (hd, D),
                 'o_proj': (D, 2 * hd), 'gate_proj': (I, D), 'up_proj': (I, D), 'down_proj': (D, I)}
        key = [k for k in shape if k in name]
        if key:
            std = 0.1 if key[0] == 'embed_tokens' else 0.08
            w = torch.randn(shape[key[0]], generator=g, dtype=torch.float64) * std
        else:
            w = 1.0 + 0.2 * torch.randn(D, generator=g, dtype=torch.float64)
        tensors.append((name, w.numpy()))
    st.save(os.path.join(VARIANT, 'model.safetensors'), tensors, 'BF16')
    with open(os.path.join(VARIANT, 'config.json'), 'w') as f:
        json.dump(hf, f, indent=2)
        f.write('\n')
    for fn in ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']:
        shutil.copy(os.path.join(MODEL, fn), os.path.join(VARIANT, fn))
    W = load_weights(os.path.join(VARIANT, 'model.safetensors'))
    out = {'folder': 'tests/fixtures/variant-llama', 'storage': 'BF16, tie_word_embeddings true, llama3 rope scaling',
           'inv_freq': inv_freq_for(hf).tolist(), 'prompts': []}
    logits = []
    for p in VARIANT_PROMPTS:
        ids = tok.encode(p)
        lg = ref_forward(W, hf, torch.tensor([ids]))[0]
        logits.append(lg.numpy())
        out['prompts'].append({'text': p, 'ids': ids, 'rows': len(ids)})
    write_bin('variant_logits.bin', np.concatenate(logits), np.float32,
              'variant-llama logits at every position of prompt 0 then prompt 1: [sum of prompt lengths, vocab]')
    ev = tok.encode(open(os.path.join(ROOT, 'public', 'data', 'kjv-heldout.txt'), encoding='utf-8').read())
    Xv = torch.tensor(ev[:VARIANT_WINDOWS * T]).view(VARIANT_WINDOWS, T)
    nll = mean_nll(W, hf, Xv)
    out['ppl_windows'] = {'windows': VARIANT_WINDOWS, 'rule': 'first 4 BOS-at-start windows of heldout_ids.bin',
                          'ppl': math.exp(nll)}
    print('variant', out['ppl_windows'], flush=True)
    return out


if __name__ == '__main__':
    main()
