#!/usr/bin/python3
"""Golden fixtures for the model families (tests/fixtures/families/; format in tests/fixtures/README.md).

Writes one small random checkpoint per family in its Hugging Face layout (checkpoints.py), reads the
stored BF16 numbers back and evaluates the float64 reference (reference.py) on them: prompt logits,
greedy tokens, the PPL criterion, Taylor scores (autograd) and magnitudes on a fixed calibration
batch, plus checks (finite differences, float32 vs float64, how far each family feature moves the
logits). Deterministic.   usage: /usr/bin/python3 tools/families/make_fixtures.py
"""
import json, math, os, shutil, sys, time
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'tools', 'tiny-llama'))
import bpe, st  # noqa: E402  (tools/tiny-llama: tokenizer, safetensors I/O)
from checkpoints import CHECKPOINTS, DIFFERENCES, SEEDS, random_weights  # noqa: E402
from reference import block_tensor_names, forward, mean_nll, spec_from_config  # noqa: E402

TOKENIZER_FROM = os.path.join(ROOT, 'public', 'models', 'kjv-tiny-llama')
OUT = os.environ.get('FAMILIES_FIXTURE_DIR', os.path.join(ROOT, 'tests', 'fixtures', 'families'))
MAIN_INDEX = os.path.join(ROOT, 'tests', 'fixtures', 'index.json')
TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']
PROMPTS = ['And it came to pass, when the king heard it,', 'Blessed are the meek: for they shall inherit the earth.']
N, T, GREEDY = 4, 64, 16
files = {}


def load(folder):
    return {k: torch.from_numpy(v) for k, v in st.load(os.path.join(folder, 'model.safetensors')).items()}


def write_bin(name, arr, meaning):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    arr.astype('<f4').tofile(os.path.join(OUT, name))
    files[name] = {'dtype': 'float32', 'shape': list(arr.shape), 'meaning': meaning}


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


def order(scores):
    return sorted(range(len(scores)), key=lambda i: (scores[i], i))


def greedy(W, spec, ids, n):
    """n argmax tokens, recomputing the whole sequence each step; also the top-1 minus top-2 logit gap."""
    x, margins = list(ids), []
    for _ in range(n):
        lg = forward(W, spec, torch.tensor([x]))[0, -1]
        top = torch.topk(lg, 2).values
        margins.append((top[0] - top[1]).item())
        x.append(int(lg.argmax()))
    return x[len(ids):], margins


def taylor(W, spec, X):
    """sum |W * dL/dW| for every tensor of every block (float64 autograd, one batch)."""
    Wg = {k: v.clone().requires_grad_(k.startswith('model.layers.')) for k, v in W.items()}
    loss = mean_nll(Wg, spec, X)
    loss.backward()
    kinds = block_tensor_names(spec)
    per = [[(Wg[f'model.layers.{i}.{k}'] * Wg[f'model.layers.{i}.{k}'].grad).abs().sum().item() for k in kinds]
           for i in range(spec['layers'])]
    return loss.item(), per, Wg


def finite_difference(W, spec, X, Wg, names):
    out = []
    for name, ij in names:
        h = 1e-5
        Wp, Wm = dict(W), dict(W)
        Wp[name] = W[name].clone(); Wp[name][ij] += h
        Wm[name] = W[name].clone(); Wm[name][ij] -= h
        with torch.no_grad():
            num = (mean_nll(Wp, spec, X).item() - mean_nll(Wm, spec, X).item()) / (2 * h)
        out.append({'weight': name, 'index': list(ij), 'autograd': Wg[name].grad[ij].item(), 'finite_diff': num})
    return out


def sensitivity(W, spec, prompts, positions, ref):
    """Relative change of the prompt logits when one family feature is dropped: the fixture can only
    catch a loader that forgets a feature if this is well above the logits tolerance (1e-3)."""
    variants = {}
    if spec['bias']:
        variants['without_biases'] = ({**spec, 'bias': []}, W)
    if spec['qk_norm']:
        variants['without_qk_norm'] = ({**spec, 'qk_norm': False}, W)
    if spec['norm_offset']:
        variants['norm_weight_without_1_plus'] = ({**spec, 'norm_offset': 0.0}, W)
    if spec['embed_scale'] is not None:
        variants['embed_scale_exact_sqrt'] = ({**spec, 'embed_scale': spec['hidden'] ** 0.5}, W)
        variants['without_embed_scale'] = ({**spec, 'embed_scale': None}, W)
    if spec['act'] == 'gelu_pytorch_tanh':
        variants['gelu_exact_instead_of_tanh'] = ({**spec, 'act': 'gelu'}, W)
    if any(w is not None for w in spec['windows']):
        variants['without_sliding_window'] = ({**spec, 'windows': [None] * spec['layers']}, W)
        for d, what in ((1, 'one_key_wider'), (-1, 'one_key_narrower')):   # off-by-one in the window
            variants[f'window_{what}'] = ({**spec, 'windows': [w and w + d for w in spec['windows']]}, W)
        if len(set(spec['windows'])) > 1:
            variants['window_on_every_layer'] = ({**spec, 'windows': [max(w for w in spec['windows'] if w)] * spec['layers']}, W)
    out = {}
    with torch.no_grad():
        for name, (s, w) in variants.items():
            got = torch.stack([forward(w, s, torch.tensor([p]))[0, pos] for p, pos in zip(prompts, positions)])
            out[name] = rel(got, ref)
    return out


def family(name, cfg, tok, calib, seed):
    t0 = time.time()
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    for fn in TOKENIZER_FILES:
        shutil.copy(os.path.join(TOKENIZER_FROM, fn), os.path.join(folder, fn))
    W0 = random_weights(cfg, seed)
    st.save(os.path.join(folder, 'model.safetensors'), [(k, v.numpy()) for k, v in W0.items()], 'BF16')
    W = load(folder)                          # the stored BF16 values, exactly, as float64
    spec = spec_from_config(cfg)
    L = spec['layers']
    X = torch.tensor(calib)
    out = {'folder': f'tests/fixtures/families/{name}', 'architecture': spec['architecture'],
           'differs_from_llama': DIFFERENCES[name], 'storage': 'BF16, seed %d' % seed,
           'spec': {k: v for k, v in spec.items()}, 'tensors': len(W),
           'bytes': {fn: os.path.getsize(os.path.join(folder, fn)) for fn in sorted(os.listdir(folder))}}

    # prompts: logits at the first, middle and last position (past every window), greedy continuation
    prompt_ids = [tok.encode(p) for p in PROMPTS]
    positions = [[0, (len(ids) - 1) // 2, len(ids) - 1] for ids in prompt_ids]
    with torch.no_grad():
        logits = torch.stack([forward(W, spec, torch.tensor([ids]))[0, pos] for ids, pos in zip(prompt_ids, positions)])
    write_bin(f'{name}_logits.bin', logits.numpy(),
              f'{name} logits [prompt, position (prompts[].positions: first, middle, last), vocab]')
    out['prompts'] = []
    for p, ids, pos in zip(PROMPTS, prompt_ids, positions):
        with torch.no_grad():
            g, m = greedy(W, spec, ids, GREEDY)
        out['prompts'].append({'text': p, 'ids': ids, 'positions': pos, f'greedy{GREEDY}': g,
                               f'greedy{GREEDY}_text': tok.decode(g), 'greedy_min_margin': min(m)})

    # PPL criterion + magnitudes
    with torch.no_grad():
        full = mean_nll(W, spec, X).item()
        ppl_rm = [math.exp(mean_nll(W, spec, X, skip=(i,)).item()) for i in range(L)]
    crit = {'full_ppl': math.exp(full), 'ppl_block_removed': ppl_rm, 'ppl_order': order(ppl_rm)}
    kinds = block_tensor_names(spec)
    loss, per, Wg = taylor(W, spec, X)
    crit.update({'weight_kinds': kinds, 'taylor_loss': loss, 'taylor_per_weight': per,
                 'taylor_block': [sum(r) for r in per], 'taylor_order': order([sum(r) for r in per])})
    mag = [[W[f'model.layers.{i}.{k}'].abs().sum().item() for k in kinds] for i in range(L)]
    crit.update({'magnitude_per_weight': mag, 'magnitude_block': [sum(r) for r in mag],
                 'magnitude_order': order([sum(r) for r in mag])})
    out['criteria'] = crit

    # checks
    fd_names = [(f'model.layers.{L - 1}.mlp.down_proj.weight', (3, 5)), ('model.layers.0.input_layernorm.weight', (2,))]
    fd_names += [(f'model.layers.1.{k}', (1,)) for k in kinds if k.endswith('.bias') or '_norm.' in k and 'self_attn' in k]
    checks = {'taylor_finite_difference': finite_difference(W, spec, X, Wg, fd_names)}
    W32 = {k: v.float() for k, v in W.items()}
    with torch.no_grad():
        l32 = torch.stack([forward(W32, spec, torch.tensor([ids]))[0, pos] for ids, pos in zip(prompt_ids, positions)]).double()
        ppl32 = [math.exp(mean_nll(W32, spec, X, skip=(i,)).item()) for i in range(L)]
    _, per32, _ = taylor(W32, spec, X)
    checks['float32_reference'] = {
        'what': 'the same reference run in float32 on the same weights: what an exact f32 implementation reaches',
        'logits_rel_err': rel(l32, logits),
        'ppl_block_removed_max_rel_err': max(abs(a - b) / b for a, b in zip(ppl32, ppl_rm)),
        'taylor_per_weight_max_rel_err': max(abs(a - b) / b for ra, rb in zip(per32, per) for a, b in zip(ra, rb))}
    checks['sensitivity_logits_rel_change'] = sensitivity(W, spec, prompt_ids, positions, logits)
    out['checks'] = checks
    print(f'[{name} {time.time() - t0:.0f}s] ppl {crit["full_ppl"]:.1f} order {crit["ppl_order"]} '
          f'taylor {crit["taylor_order"]} checks {json.dumps(checks)}', flush=True)
    return out


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    tok = bpe.Tokenizer.load(TOKENIZER_FROM)
    main_idx = json.load(open(MAIN_INDEX, encoding='utf-8'))
    calib = [row[:T] for row in main_idx['calibration']['ids'][:N]]
    idx = {'generator': 'tools/families/make_fixtures.py', 'reference': 'tools/families/reference.py',
           'compute': 'float64 on the BF16 weights of each model.safetensors (RMSNorm, RoPE, softmax in float64 too)',
           'gemma_gelu': 'tanh (transformers 5.x reading of "hidden_act": "gelu")',
           'calibration': {'source': f'tests/fixtures/index.json calibration.ids[0:{N}], first {T} tokens of each',
                           'N': N, 'T': T, 'ids': calib,
                           'loss': f'mean next-token cross-entropy over N x (T-1) = {N * (T - 1)} predictions; PPL = exp(loss)'},
           'families': {}}
    for name, cfg in CHECKPOINTS.items():
        idx['families'][name] = family(name, cfg, tok, calib, SEEDS[name])
    idx['files'] = files
    with open(os.path.join(OUT, 'index.json'), 'w', encoding='utf-8') as f:
        json.dump(idx, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
