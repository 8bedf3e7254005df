#!/usr/bin/python3
"""Step 4 (run by train.py at the end): F16 safetensors + HF config files + evaluation + model card.

usage: /usr/bin/python3 tools/tiny-llama/export.py [--ckpt work/final.pt]
"""
import argparse, json, math, os, sys
import numpy as np
import torch
import torch.nn.functional as F
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe, st, model as M
import prep_data

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
OUT = os.environ.get('TINY_LLAMA_MODEL_DIR', os.path.join(ROOT, 'public', 'models', 'kjv-tiny-llama'))
QUICK = os.environ.get('FIX_QUICK') == '1'   # smoke test only
WORK = os.path.join(HERE, 'work')
T = 128
MAX_POS = 1024
PROMPTS = ['In the beginning', 'And the LORD spake unto Moses, saying,', 'Blessed are the']


def hf_names(L):
    names = ['model.embed_tokens.weight']
    for i in range(L):
        p = f'model.layers.{i}.'
        names += [p + 'self_attn.q_proj.weight', p + 'self_attn.k_proj.weight', p + 'self_attn.v_proj.weight',
                  p + 'self_attn.o_proj.weight', p + 'mlp.gate_proj.weight', p + 'mlp.up_proj.weight',
                  p + 'mlp.down_proj.weight', p + 'input_layernorm.weight', p + 'post_attention_layernorm.weight']
    return names + ['model.norm.weight', 'lm_head.weight']


def hf_config(c, tie=False, dtype='float16', rope_scaling=None, max_pos=MAX_POS):
    return {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama',
        'hidden_size': c['hidden_size'], 'intermediate_size': c['intermediate_size'],
        'num_hidden_layers': c['num_hidden_layers'], 'num_attention_heads': c['num_attention_heads'],
        'num_key_value_heads': c['num_key_value_heads'], 'head_dim': c['head_dim'],
        'hidden_act': 'silu', 'rms_norm_eps': c['rms_norm_eps'], 'rope_theta': c['rope_theta'],
        'rope_scaling': rope_scaling, 'max_position_embeddings': max_pos, 'vocab_size': c['vocab_size'],
        'tie_word_embeddings': tie, 'bos_token_id': bpe.BOS, 'eos_token_id': bpe.EOS, 'pad_token_id': None,
        'torch_dtype': dtype, 'attention_bias': False, 'attention_dropout': 0.0, 'mlp_bias': False,
        'initializer_range': 0.02, 'pretraining_tp': 1, 'use_cache': True, 'transformers_version': '4.46.0',
    }


def eval_stream(tok):
    text = open(os.path.join(ROOT, 'public', 'data', 'kjv-heldout.txt'), encoding='utf-8').read()
    return tok.encode(text)            # BOS only at the very start


def windows(ids, bos_every=False):
    """BOS-at-start: non-overlapping T-token windows of the stream (remainder dropped).
    BOS-every-window: stream without its BOS cut into (T-1)-token chunks, each prefixed with BOS."""
    if not bos_every:
        n = len(ids) // T
        return torch.tensor(ids[:n * T]).view(n, T)
    body = ids[1:]
    n = len(body) // (T - 1)
    w = torch.tensor(body[:n * (T - 1)]).view(n, T - 1)
    return torch.cat([torch.full((n, 1), bpe.BOS), w], 1)


@torch.no_grad()
def ppl(m, W, bs=32):
    nll, cnt = 0.0, 0
    for i in range(0, len(W), bs):
        x = W[i:i + bs]
        lg = m(x).double()
        nll += F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1), reduction='sum').item()
        cnt += x[:, 1:].numel()
    return math.exp(nll / cnt)


def unigram_ppl(train_ids, W, V):
    cnt = np.bincount(np.asarray(train_ids), minlength=V).astype(np.float64) + 1.0   # add-one smoothing
    lp = np.log(cnt / cnt.sum())
    tgt = W[:, 1:].reshape(-1).numpy()
    return math.exp(-lp[tgt].mean())


@torch.no_grad()
def generate(m, ids, n, greedy=True, g=None, top_k=40, temp=0.8):
    x = torch.tensor([ids])
    for _ in range(n):
        lg = m(x[:, -T:])[0, -1].double()
        if greedy:
            nxt = int(lg.argmax())
        else:
            v, ix = torch.topk(lg / temp, top_k)
            nxt = int(ix[torch.multinomial(torch.softmax(v, -1), 1, generator=g)])
        x = torch.cat([x, torch.tensor([[nxt]])], 1)
    return x[0].tolist()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', default=os.path.join(WORK, 'final.pt'))
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    stats = json.load(open(os.path.join(WORK, 'train_stats.json'))) if os.path.exists(
        os.path.join(WORK, 'train_stats.json')) else {}
    import train
    c = train.CONFIG
    sd = torch.load(args.ckpt)
    names = hf_names(c['num_hidden_layers'])
    assert set(names) == set(sd.keys()), set(sd.keys()) ^ set(names)
    path = os.path.join(OUT, 'model.safetensors')
    st.save(path, [(n, sd[n].numpy()) for n in names], 'F16')
    with open(os.path.join(OUT, 'config.json'), 'w') as f:
        json.dump(hf_config(c), f, indent=2)
        f.write('\n')
    with open(os.path.join(OUT, 'generation_config.json'), 'w') as f:
        json.dump({'bos_token_id': bpe.BOS, 'eos_token_id': bpe.EOS, 'do_sample': True, 'temperature': 1.0,
                   'top_k': 50, 'top_p': 0.95, 'max_new_tokens': 128, 'transformers_version': '4.46.0'}, f, indent=2)
        f.write('\n')
    # reload the F16 numbers and evaluate exactly what ships
    w = st.load(path)
    m = M.LlamaForCausalLM(c)
    m.load_state_dict({n: torch.tensor(w[n], dtype=torch.float32) for n in names})
    m.eval()
    tok = bpe.Tokenizer.load(OUT)
    ids = eval_stream(tok)
    W0, W1 = windows(ids), windows(ids, True)
    if QUICK:
        W0, W1 = W0[:4], W1[:4]
    train_text = open(os.path.join(WORK, 'train.txt'), encoding='utf-8').read()
    train_ids = tok.encode(train_text)
    res = dict(heldout_tokens=len(ids), windows=len(W0), ppl_bos_start=ppl(m, W0), ppl_bos_every=ppl(m, W1),
               unigram_ppl=unigram_ppl(train_ids, W0, c['vocab_size']))
    print(res, flush=True)
    g = torch.Generator().manual_seed(0)
    samples = []
    for p in PROMPTS:
        pid = tok.encode(p)
        samples.append(dict(prompt=p, greedy=tok.decode(generate(m, pid, 4 if QUICK else 48)),
                            sampled=tok.decode(generate(m, pid, 4 if QUICK else 48, greedy=False, g=g))))
        print(samples[-1], flush=True)
    json.dump(dict(eval=res, samples=samples), open(os.path.join(WORK, 'eval.json'), 'w'), indent=1)
    write_card(c, stats, res, samples, os.path.getsize(path))


def write_card(c, stats, res, samples, size):
    nparam = sum(int(np.prod(s)) for s in [[1]]) * 0 + stats.get('params', 0)
    L = c['num_hidden_layers']
    samp = '\n\n'.join(f'**Prompt** `{s["prompt"]}`\n\n- greedy: {s["greedy"]}\n- sampled (top-k 40, T 0.8, seed 0): '
                       f'{s["sampled"]}' for s in samples)
    wall = stats.get('wall_s', float('nan'))
    card = f"""---
license: cc0-1.0
language: en
pipeline_tag: text-generation
tags: [llama, tiny, kjv, depth-pruning-lab]
---
# kjv-tiny-llama

A {nparam/1e6:.2f} M-parameter LLaMA (Hugging Face `LlamaForCausalLM` layout, F16 safetensors) trained from
scratch on the King James Bible. It is the default model of the Depth-Pruning Lab: small enough to ship
with the app, deep enough ({L} blocks) to make block-pruning criteria meaningful.

## Data
- Text: the KJV as printed by Debian's `bible-kjv` (`bible "Gen1:1-Rev22:21"`), public domain.
- Cleaning: book/chapter headers and verse numbers removed, wrapped lines re-joined, whitespace
  collapsed to single spaces; one chapter = one document = one line of prose (verses joined by a space).
- Split by whole books. Held out (never trained on, tokenizer not trained on them either):
  Ruth, Ecclesiastes, Lamentations, Jonah, Micah, Mark, Galatians, James, 1 Peter
  (64 chapters, 203 KB, 4.9 % of the text). Training: the other 1125 chapters ({stats.get('train_tokens', 0)} tokens).
- `public/data/kjv-heldout.txt`: the held-out chapters; `public/data/kjv-calib.txt`: every 20th training
  chapter (57 chapters). In both, documents (chapters) are separated by one blank line (`\\n\\n`), each
  chapter is a single line, and the file ends with one `\\n`.

## Tokenizer
Byte-level BPE (GPT-2 regex and byte map), 4096 tokens: `<unk>`=0, `<s>`=1 (BOS), `</s>`=2, 256 byte symbols,
3837 merges learned on the training split by `tools/tiny-llama/bpe.py`. The post-processor prepends `<s>`.
Round-trips any UTF-8 text; {stats.get('train_tokens', 0)/3935608:.3f} tokens per character on the training text.

## Architecture (config.json)
| field | value |
|---|---|
| hidden_size | {c['hidden_size']} |
| intermediate_size | {c['intermediate_size']} (SwiGLU) |
| num_hidden_layers | {L} |
| num_attention_heads / num_key_value_heads / head_dim | {c['num_attention_heads']} / {c['num_key_value_heads']} / {c['head_dim']} (GQA) |
| rms_norm_eps | {c['rms_norm_eps']} |
| rope_theta | {c['rope_theta']} (no scaling) |
| vocab_size | {c['vocab_size']} |
| tie_word_embeddings | false |
| max_position_embeddings | {MAX_POS} (trained on 128-token sequences only) |
| parameters | {nparam} ({nparam - 2*c['vocab_size']*c['hidden_size']} non-embedding) |
| file | model.safetensors, F16, {size/1e6:.1f} MB |

## Training
Plain PyTorch re-implementation of `LlamaForCausalLM` (`tools/tiny-llama/model.py`), seed {stats.get('seed')},
CPU with 2 threads, f32. {stats.get('steps')} steps x batch {stats.get('batch')} x {stats.get('seq')} tokens
(+1 label) = {stats.get('tokens_seen', 0)/1e6:.2f} M tokens (~{stats.get('tokens_seen', 0)/max(1, stats.get('train_tokens', 1)):.2f} epochs).
Per sample: 50 % a plain window of the token stream (chapters joined with `\\n\\n`), 25 % `<s>` + 127 tokens
from a random position, 25 % `<s>` + 127 tokens from a chapter start.
AdamW (betas 0.9/0.95, weight decay {stats.get('weight_decay')} on matrices), lr {stats.get('lr')} with
{stats.get('warmup')} warm-up steps, constant until step {stats.get('decay_from')}, then linear decay to
{stats.get('lr_min')} at step {stats.get('steps')} (warmup-stable-decay), grad-clip 1.0; init N(0, 0.02),
o_proj/down_proj N(0, 0.02/sqrt(2L)). Wall time {wall/60:.1f} min on a 2-core machine
({wall/max(1, stats.get('steps', 1)):.2f} s/step). Final train loss (mean of last 10 steps)
{stats.get('final_loss_avg10', float('nan')):.3f}.

Reproduce: `/usr/bin/python3 tools/tiny-llama/train.py` on an otherwise idle machine (see `tools/tiny-llama/README.md`).

## Evaluation (held-out books, F16 weights as shipped)
Protocol: held-out text joined, tokenized once, BOS only at the very start; non-overlapping 128-token
windows, remainder dropped ({res['windows']} windows, {res['windows']*127} predicted tokens); PPL = exp(mean NLL).

| model | held-out PPL |
|---|---|
| kjv-tiny-llama, BOS at stream start | **{res['ppl_bos_start']:.2f}** |
| kjv-tiny-llama, BOS on every window (BOS + 127 tokens) | {res['ppl_bos_every']:.2f} |
| unigram (add-one token frequencies of the training split), same targets | {res['unigram_ppl']:.1f} |

## Samples (greedy / sampled, 48 new tokens)
{samp}

## Limits
A toy: it only knows KJV English, has a 128-token training context, and is meant for testing pruning
criteria and GPU kernels, not for any real use.
"""
    with open(os.path.join(OUT, 'README.md'), 'w') as f:
        f.write(card)


if __name__ == '__main__':
    main()
