#!/usr/bin/python3
"""Step 2: train the byte-level BPE on the TRAIN split and write the HF tokenizer files."""
import json, os, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe

ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(ROOT, 'public', 'models', 'kjv-tiny-llama')
VOCAB = 4096
MAX_LEN = 2048


def main():
    text = open(os.path.join(HERE, 'work', 'train.txt'), encoding='utf-8').read()
    t0 = time.time()
    merges = bpe.train(text, VOCAB)
    tok = bpe.Tokenizer.from_merges(merges)
    assert len(tok.vocab) == VOCAB, len(tok.vocab)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tok.to_hf_json(merges), f, ensure_ascii=False, indent=1)
        f.write('\n')
    cfg = {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'add_bos_token': True, 'add_eos_token': False,
        'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>', 'pad_token': None,
        'model_max_length': MAX_LEN, 'clean_up_tokenization_spaces': False,
        'legacy': False,
    }
    with open(os.path.join(OUT, 'tokenizer_config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    with open(os.path.join(OUT, 'special_tokens_map.json'), 'w') as f:
        json.dump({'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>'}, f, indent=2)
        f.write('\n')
    n = len(tok.encode(text))
    print(f'{len(merges)} merges in {time.time()-t0:.1f}s; train text {len(text)} chars -> {n} tokens '
          f'({len(text)/n:.2f} chars/token)')


if __name__ == '__main__':
    main()
