"""Byte-level BPE (GPT-2 style), pure Python: training + an encoder/decoder that
reproduces Hugging Face tokenizers / transformers.js for the tokenizer.json we write.

Ids: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3..258 the 256 byte symbols (byte order),
259.. merges in rank order.
"""
import collections, json, os
import regex

GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_pat = regex.compile(GPT2_PAT)
SPECIALS = ['<unk>', '<s>', '</s>']
UNK, BOS, EOS = 0, 1, 2


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def pretokenize(text):
    return _pat.findall(text)


def to_symbols(word):
    return ''.join(B2U[b] for b in word.encode('utf-8'))


def train(text, vocab_size):
    words = collections.Counter(to_symbols(w) for w in pretokenize(text))
    seqs = [list(w) for w in words]
    freqs = [words[w] for w in words]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    merges = []
    n_merges = vocab_size - len(SPECIALS) - 256
    while len(merges) < n_merges and pairs:
        # most frequent pair; ties -> lexicographically smallest pair (deterministic)
        best = max(pairs.items(), key=lambda kv: (kv[1], tuple(-ord(c) for c in kv[0][0] + '\0' + kv[0][1])))[0]
        if pairs[best] <= 0:
            break
        merges.append(best)
        a, b = best
        new = a + b
        for i in list(where[best]):
            s = seqs[i]
            f = freqs[i]
            for x, y in zip(s, s[1:]):
                pairs[(x, y)] -= f
                if pairs[(x, y)] == 0:
                    del pairs[(x, y)]
                where[(x, y)].discard(i)
            j, out = 0, []
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += f
                where[(x, y)].add(i)
        pairs.pop(best, None)
    return merges


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab                    # token string -> id
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.cache = {}

    @classmethod
    def from_merges(cls, merges):
        vocab = {t: i for i, t in enumerate(SPECIALS)}
        for b in range(256):
            vocab[B2U[b]] = len(vocab)
        for a, b in merges:
            vocab[a + b] = len(vocab)
        return cls(vocab, merges)

    @classmethod
    def load(cls, path):
        with open(os.path.join(path, 'tokenizer.json'), encoding='utf-8') as f:
            j = json.load(f)
        m = j['model']['merges']
        merges = [tuple(x.split(' ')) if isinstance(x, str) else tuple(x) for x in m]
        return cls(j['model']['vocab'], merges)

    def _bpe(self, sym):
        if sym in self.cache:
            return self.cache[sym]
        parts = list(sym)
        while len(parts) > 1:
            best, bi = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            parts = parts[:bi] + [parts[bi] + parts[bi + 1]] + parts[bi + 2:]
        ids = [self.vocab[p] for p in parts]
        self.cache[sym] = ids
        return ids

    def encode(self, text, add_bos=True):
        ids = [BOS] if add_bos else []
        for w in pretokenize(text):
            ids.extend(self._bpe(to_symbols(w)))
        return ids

    def decode(self, ids, skip_special=True):
        bs = bytearray()
        for i in ids:
            if i < len(SPECIALS):
                if not skip_special:
                    bs.extend(SPECIALS[i].encode())
                continue
            bs.extend(U2B[c] for c in self.inv[i])
        return bs.decode('utf-8', errors='replace')

    def to_hf_json(self, merges):
        added = [dict(id=i, content=t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
                 for i, t in enumerate(SPECIALS)]
        return {
            'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added,
            'normalizer': None,
            'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
            'post_processor': {
                'type': 'TemplateProcessing',
                'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                         {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
                'special_tokens': {'<s>': {'id': '<s>', 'ids': [BOS], 'tokens': ['<s>']}},
            },
            'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
            'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                      'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                      'vocab': self.vocab, 'merges': [a + ' ' + b for a, b in merges]},
        }
