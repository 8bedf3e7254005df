#!/usr/bin/python3
"""Golden fixture for zero-shot task scoring (tests/fixtures/tasks/golden.json).

The rows of tests/fixtures/tasks/rows.json (each dataset's own columns) and the first items of the
shipped KJV tasks are formatted here as the seed's lm-eval snapshot formats them (restated from
Nota-NetsPresso/shortened-llm src/lm_eval/tasks/*.py), tokenized with the pure-Python BPE of the
embedded model as `hf-causal-experimental` does (BaseLM's `_encode_pair`: no special tokens, the
context's trailing whitespace moved to the continuation, the continuation = the tokens of context +
continuation after the context's; an empty context is EOS), and every (context, continuation) pair
is scored by the independent float64 forward of tools/tiny-llama/make_fixtures.py
on the whole sequence (context + continuation)[:-1], as lm-eval does. acc / acc_norm follow
MultipleChoiceTask (argmax, first of ties; acc_norm divides by len(choice)).

usage: /usr/bin/python3 tools/tasks/make_task_fixture.py
"""
import json
import os
import re
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'tiny-llama'))
import bpe  # noqa: E402
from make_fixtures import load_weights, ref_forward  # noqa: E402

MODEL = os.path.join(ROOT, 'public', 'models', 'kjv-tiny-llama')
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'tasks')
KJV_ITEMS = 2


def mc(context, choices, gold):
    return {'requests': [{'context': context, 'continuation': ' ' + c, 'norm_chars': len(c)} for c in choices], 'gold': gold}


def hs_pre(text):
    text = text.strip().replace(' [title]', '. ')
    text = re.sub(r'\[.*?\]', '', text)
    return text.replace('  ', ' ')


def fmt(task, d):
    if task == 'boolq':   # superglue.py BoolQ; choices ordered [no, yes] so argmax == (ll_yes > ll_no) == label
        ctx = d['passage'] + '\nQuestion: ' + d['question'] + '?\nAnswer:'
        return {'requests': [{'context': ctx, 'continuation': c, 'norm_chars': len(c) - 1} for c in (' no', ' yes')], 'gold': d['label']}
    if task == 'piqa':
        return mc('Question: ' + d['goal'] + '\nAnswer:', [d['sol1'], d['sol2']], d['label'])
    if task == 'hellaswag':
        ctx = d['ctx_a'] + ' ' + d['ctx_b'].capitalize()
        return mc(hs_pre(d['activity_label'] + ': ' + ctx), [hs_pre(e) for e in d['endings']], int(d['label']))
    if task == 'winogrande':
        i = d['sentence'].index('_')
        cont = ' ' + d['sentence'][i + 1:].strip()
        return {'requests': [{'context': d['sentence'][:i] + o, 'continuation': cont, 'norm_chars': len(cont) - 1}
                             for o in (d['option1'], d['option2'])], 'gold': {'1': 0, '2': 1}[d['answer']]}
    if task in ('arc_easy', 'arc_challenge'):
        key = {'1': 'A', '2': 'B', '3': 'C', '4': 'D', '5': 'E'}.get(d['answerKey'], d['answerKey'])
        return mc('Question: ' + d['question'] + '\nAnswer:', d['choices']['text'], 'ABCDE'.index(key))
    if task == 'openbookqa':
        return mc(d['question_stem'], d['choices']['text'], 'ABCD'.index(d['answerKey'].strip()))
    return mc(d['context'], d['choices'], d['gold'])   # custom / KJV


def encode_pair(tok, context, continuation):
    """BaseLM.loglikelihood / _encode_pair of the snapshot's base.py (hf-causal-experimental keeps them)."""
    if context == '':
        return [bpe.EOS], tok.encode(continuation, add_bos=False)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok.encode(context + continuation, add_bos=False)
    ctx = tok.encode(context, add_bos=False)
    return ctx, whole[len(ctx):]


def argmax(xs):
    return max(range(len(xs)), key=lambda i: (xs[i], -i))


def main():
    torch.set_num_threads(2)
    cfg = json.load(open(os.path.join(MODEL, 'config.json')))
    W = {k: v.double() for k, v in load_weights(os.path.join(MODEL, 'model.safetensors')).items()}
    tok = bpe.Tokenizer.load(MODEL)
    rows = json.load(open(os.path.join(FIX, 'rows.json'), encoding='utf-8'))
    cases = [(t, i, r) for t, rs in rows.items() if not t.startswith('_') for i, r in enumerate(rs)]
    for task, name in (('kjv_verse_end', 'kjv-verse-end.jsonl'), ('kjv_last_word', 'kjv-last-word.jsonl')):
        with open(os.path.join(ROOT, 'public', 'data', 'tasks', name), encoding='utf-8') as f:
            cases += [(task, i, json.loads(line)) for i, line in zip(range(KJV_ITEMS), f)]
    out = []
    for task, i, row in cases:
        item = fmt(task, row)
        reqs = []
        for r in item['requests']:
            ctx, cont = encode_pair(tok, r['context'], r['continuation'])
            seq = torch.tensor([(ctx + cont)[:-1]])
            lp = torch.log_softmax(ref_forward(W, cfg, seq)[0], -1)
            pos = torch.arange(len(ctx) - 1, len(ctx) - 1 + len(cont))
            ll = lp[pos, torch.tensor(cont)].sum().item()
            reqs.append({**r, 'context_ids': ctx, 'continuation_ids': cont, 'loglikelihood': ll})
        lls = [r['loglikelihood'] for r in reqs]
        acc = 1 if argmax(lls) == item['gold'] else 0
        acc_norm = 1 if argmax([ll / r['norm_chars'] for ll, r in zip(lls, reqs)]) == item['gold'] else 0
        out.append({'task': task, 'row': i, 'gold': item['gold'], 'requests': reqs, 'acc': acc, 'acc_norm': acc_norm})
        print(task, i, [round(x, 4) for x in lls], 'acc', acc, 'acc_norm', acc_norm)
    with open(os.path.join(FIX, 'golden.json'), 'w', encoding='utf-8') as f:
        json.dump({'generator': 'tools/tasks/make_task_fixture.py', 'model': 'public/models/kjv-tiny-llama',
                   'compute': 'float64 on the F16 weights of model.safetensors', 'items': out}, f, indent=1, ensure_ascii=False)


if __name__ == '__main__':
    main()
