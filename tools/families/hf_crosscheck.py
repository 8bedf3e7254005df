"""Cross-check tools/families/reference.py and the fixtures against Hugging Face's own models.
Not part of CI (needs transformers and a recent torch); run it after changing the reference:

    python3 -m venv /tmp/hfvenv && /tmp/hfvenv/bin/pip install torch transformers safetensors
    /tmp/hfvenv/bin/python tools/families/hf_crosscheck.py [--json out.json]

For every checkpoint in tests/fixtures/families/ it loads the folder with AutoModelForCausalLM in
float64 (eager attention) and compares, on the fixture prompts:
  - logits against the reference with HF's float32 islands reproduced (hf_f32=True): both sides then
    round the same values the same way, so at most float64 rounding should remain (observed: 0);
  - logits against the exact float64 reference (the fixture's target): the float32 islands' size;
  - the fixture's own logits file, HF generate() (its KV cache, windowed where the model is) against
    the greedy tokens, the calibration loss, PPL with each block removed and the Taylor scores (HF
    autograd) against index.json.
Gemma: HF's embed_scale buffer is hidden_size**0.5 in the dtype the model is built in (float64
here); the fixtures use the checkpoint's dtype (bf16), as the published bf16 model computes. The
buffer is set to the bf16 value for the comparison and the unpatched difference is reported too.
Config defaults: spec_from_config on configs with keys left out or null against HF's config classes.
"""
import argparse, json, math, os, sys
import numpy as np
import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from checkpoints import CHECKPOINTS  # noqa: E402
from reference import block_tensor_names, forward, spec_from_config  # noqa: E402

FIX = os.path.join(ROOT, 'tests', 'fixtures', 'families')


def diff(a, b):
    return {'max_abs': (a - b).abs().max().item(), 'max_rel': ((a - b).abs().max() / b.abs().max()).item(),
            'rel_l2': ((a - b).norm() / b.norm()).item()}


def load_hf(folder):
    m = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation='eager')
    return m.eval()


def hf_logits(m, ids, layers=None):
    if layers is not None:                       # run a subset of blocks (the PPL criterion's cut)
        full = m.model.layers
        m.model.layers = torch.nn.ModuleList([full[i] for i in layers])
        cfg_types = getattr(m.config, 'layer_types', None)
        if cfg_types:
            m.config.layer_types = [cfg_types[i] for i in layers]
        try:
            return hf_logits(m, ids)
        finally:
            m.model.layers = full
            if cfg_types:
                m.config.layer_types = cfg_types
    return m(input_ids=ids, use_cache=False).logits


def check(name, folder, entry):
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    spec = spec_from_config(cfg)
    W = {k: v.double() for k, v in load_file(os.path.join(folder, 'model.safetensors')).items()}
    m = load_hf(folder)
    res = {'hf_config': {'hidden_act': m.config.hidden_act, 'layer_types': getattr(m.config, 'layer_types', None),
                         'sliding_window': getattr(m.config, 'sliding_window', None)}}
    if spec['embed_scale'] is not None:
        buf = m.model.embed_tokens.embed_scale
        res['hf_embed_scale_float64'] = buf.item()
        res['fixture_embed_scale_bf16'] = spec['embed_scale']
    prompts = entry['prompts']
    with torch.no_grad():
        if spec['embed_scale'] is not None:      # unpatched: HF float64 scale vs reference with the same scale
            ids = torch.tensor([prompts[0]['ids']])
            res['logits_vs_reference_unpatched_scale_exact_sqrt'] = diff(
                hf_logits(m, ids)[0], forward(W, {**spec, 'embed_scale': buf.item()}, ids, hf_f32=True)[0])
            m.model.embed_tokens.embed_scale.fill_(spec['embed_scale'])
        hf, ref_f32, ref = [], [], []
        for p in prompts:
            ids = torch.tensor([p['ids']])
            hf.append(hf_logits(m, ids)[0])
            ref_f32.append(forward(W, spec, ids, hf_f32=True)[0])
            ref.append(forward(W, spec, ids)[0])
        hf, ref_f32, ref = torch.cat(hf), torch.cat(ref_f32), torch.cat(ref)
        res['logits_vs_reference_hf_f32_islands'] = diff(hf, ref_f32)
        res['logits_vs_reference_exact_float64'] = diff(hf, ref)
        res['greedy_argmax_rows_equal'] = bool((hf.argmax(-1) == ref.argmax(-1)).all())
    # the fixture files themselves
    V = spec['vocab']
    stored = torch.from_numpy(np.fromfile(os.path.join(FIX, f'{name}_logits.bin'), dtype='<f4').astype('float64'))
    stored = stored.view(len(prompts), 3, V)
    with torch.no_grad():
        hf_rows = torch.stack([hf_logits(m, torch.tensor([p['ids']]))[0, p['positions']] for p in prompts])
    res['fixture_logits_vs_hf'] = diff(stored, hf_rows)
    # HF's own decode (KV cache, sliding-window cache layers included) against the fixture's greedy tokens
    with torch.no_grad():
        gen = [m.generate(torch.tensor([p['ids']]), max_new_tokens=16, do_sample=False, min_new_tokens=16,
                          eos_token_id=None, pad_token_id=0)[0, len(p['ids']):].tolist() for p in prompts]
    res['hf_generate_greedy16_equals_fixture'] = all(g == p['greedy16'] for g, p in zip(gen, prompts))
    # calibration: loss, PPL with each block removed, Taylor (HF autograd)
    idx = json.load(open(os.path.join(FIX, 'index.json')))
    X = torch.tensor(idx['calibration']['ids'])
    crit = entry['criteria']
    ce = lambda lg: torch.nn.functional.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), X[:, 1:].reshape(-1))
    with torch.no_grad():
        L = spec['layers']
        ppl = [math.exp(ce(hf_logits(m, X, [j for j in range(L) if j != i])).item()) for i in range(L)]
    res['ppl_block_removed_max_rel_diff'] = max(abs(a - b) / b for a, b in zip(ppl, crit['ppl_block_removed']))
    m.zero_grad()
    loss = ce(hf_logits(m, X))
    loss.backward()
    params = dict(m.named_parameters())
    worst = 0.0
    for i in range(L):
        for k, ref_score in zip(block_tensor_names(spec), crit['taylor_per_weight'][i]):
            w = params[f'model.layers.{i}.{k}']
            worst = max(worst, abs((w * w.grad).abs().sum().item() - ref_score) / ref_score)
    res['taylor_loss_rel_diff'] = abs(loss.item() - crit['taylor_loss']) / crit['taylor_loss']
    res['taylor_per_weight_max_rel_diff'] = worst
    res['hf_block_parameters_all_counted'] = sorted(
        {n.split('.', 3)[3] for n in params if n.startswith('model.layers.')}) == sorted(block_tensor_names(spec))
    return res


def config_defaults():
    """spec_from_config's reading of missing / null keys against HF's config classes."""
    from transformers import AutoConfig
    cases = []
    drop = lambda c, *keys: {k: v for k, v in c.items() if k not in keys}
    cases.append(('mistral, no sliding_window key', drop(CHECKPOINTS['mistral'], 'sliding_window')))
    cases.append(('mistral, sliding_window null', dict(CHECKPOINTS['mistral'], sliding_window=None)))
    cases.append(('mistral, head_dim null', dict(CHECKPOINTS['mistral'], head_dim=None)))
    cases.append(('qwen2, no use_sliding_window key', drop(CHECKPOINTS['qwen2-window'], 'use_sliding_window')))
    cases.append(('qwen2 window, no sliding_window / max_window_layers keys',
                  drop(CHECKPOINTS['qwen2-window'], 'sliding_window', 'max_window_layers')))
    cases.append(('qwen2 window, explicit layer_types', dict(CHECKPOINTS['qwen2-window'], layer_types=[
        'sliding_attention', 'full_attention', 'sliding_attention', 'full_attention', 'full_attention'])))
    cases.append(('qwen2, no tie key', drop(CHECKPOINTS['qwen2'], 'tie_word_embeddings')))
    cases.append(('qwen3 window', dict(CHECKPOINTS['qwen3'], use_sliding_window=True, sliding_window=9, max_window_layers=3)))
    cases.append(('qwen3, no head_dim key', drop(CHECKPOINTS['qwen3'], 'head_dim')))
    cases.append(('gemma, no head_dim key', drop(CHECKPOINTS['gemma'], 'head_dim')))
    cases.append(('gemma, hidden_act gelu_pytorch_tanh', dict(CHECKPOINTS['gemma'], hidden_act='gelu_pytorch_tanh')))
    cases.append(('gemma, tie false', dict(CHECKPOINTS['gemma'], tie_word_embeddings=False)))
    out = {}
    for what, c in cases:
        hf = AutoConfig.for_model(c['model_type'], **drop(c, 'model_type'))
        spec = spec_from_config(c)
        L = c['num_hidden_layers']
        types = getattr(hf, 'layer_types', None) or ['sliding_attention'] * L
        hf_windows = [getattr(hf, 'sliding_window', None) if t == 'sliding_attention' else None for t in types]
        got = {'head_dim': spec['head_dim'], 'tie': spec['tie'], 'windows': spec['windows'], 'act': spec['act']}
        want = {'head_dim': getattr(hf, 'head_dim', None) or hf.hidden_size // hf.num_attention_heads,
                'tie': hf.tie_word_embeddings, 'windows': hf_windows, 'act': hf.hidden_act}
        out[what] = 'same' if got == want else {'reference': got, 'hf': want}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', help='also write the results here')
    a = ap.parse_args()
    torch.set_num_threads(2)
    idx = json.load(open(os.path.join(FIX, 'index.json')))
    out = {'transformers': transformers.__version__, 'torch': torch.__version__, 'config_defaults': config_defaults(),
           'families': {}}
    print('config defaults', json.dumps(out['config_defaults'], indent=1), flush=True)
    for name, entry in idx['families'].items():
        out['families'][name] = check(name, os.path.join(FIX, name), entry)
        print(name, json.dumps(out['families'][name], indent=1), flush=True)
    if a.json:
        json.dump(out, open(a.json, 'w'), indent=1)


if __name__ == '__main__':
    main()
