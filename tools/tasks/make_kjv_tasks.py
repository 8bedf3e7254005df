#!/usr/bin/env python3
"""Builds the two KJV multiple-choice tasks the embedded model can answer, from the held-out books
(public/data/kjv-heldout.txt, never seen in training), in the lab's custom task format
({"context", "choices", "gold"} per line). Standard library only; seeded, so a rerun writes the
same files.

  kjv-verse-end.jsonl   context: a sentence without its last five words; choices: those five words and
                        the last five words of three other sentences.
  kjv-last-word.jsonl   context: a sentence without its last word; choices: that word and three
                        other sentence-final words of the held-out text.

usage: /usr/bin/python3 tools/tasks/make_kjv_tasks.py [--items 500] [--seed 1234]
"""
import argparse
import json
import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SENTENCE_END = re.compile(r'(?<=[.?!])\s+')
WORD = re.compile(r'^[A-Za-z]{3,}$')


def chapters(path):
    with open(path, encoding='utf-8') as f:
        return [p.strip() for p in f.read().split('\n\n') if p.strip()]


def sentences(chapter):
    return [s.strip() for s in SENTENCE_END.split(chapter) if s.strip()]


def words(s):
    return len(s.split())


def verse_end(chs, n, rng, tail=5):
    """Sentences of 10-30 words: the context is all but the last `tail` words, the answer those words."""
    cands = [s for ch in chs for s in sentences(ch) if 10 <= words(s) <= 30]
    endings = sorted({' '.join(s.split()[-tail:]) for s in cands})
    items = []
    for s in rng.sample(cands, n):
        w = s.split()
        answer = ' '.join(w[-tail:])
        choices = rng.sample([e for e in endings if e != answer], 3) + [answer]
        rng.shuffle(choices)
        items.append({'context': ' '.join(w[:-tail]), 'choices': choices, 'gold': choices.index(answer)})
    return items


def last_word(chs, n, rng):
    cands = []
    for ch in chs:
        for s in sentences(ch):
            body, _, last = s.rstrip('.?!,;:').rpartition(' ')
            if words(s) >= 8 and WORD.match(last):
                cands.append((body, last))
    finals = sorted({last for _, last in cands})
    items = []
    for body, last in rng.sample(cands, n):
        others = rng.sample([w for w in finals if w.lower() != last.lower()], 3)
        choices = others + [last]
        rng.shuffle(choices)
        items.append({'context': body, 'choices': choices, 'gold': choices.index(last)})
    return items


def write(name, items):
    path = os.path.join(ROOT, 'public', 'data', 'tasks', name)
    with open(path, 'w', encoding='utf-8') as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + '\n')
    print(f'{path}: {len(items)} items')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--items', type=int, default=500)
    ap.add_argument('--seed', type=int, default=1234)
    a = ap.parse_args()
    chs = chapters(os.path.join(ROOT, 'public', 'data', 'kjv-heldout.txt'))
    write('kjv-verse-end.jsonl', verse_end(chs, a.items, random.Random(a.seed)))
    write('kjv-last-word.jsonl', last_word(chs, a.items, random.Random(a.seed + 1)))


if __name__ == '__main__':
    main()
