#!/usr/bin/env python3
"""Builds the two KJV multiple-choice tasks the embedded model can answer, from the held-out books
(public/data/kjv-heldout.txt, never seen in training), in the lab's custom task format
({"context", "choices", "gold"} per line). Standard library only; seeded, so a rerun writes the
same files.

  kjv-next-verse.jsonl  context: a sentence; choices: the sentence that follows it in its chapter and
                        three sentences of similar length from other chapters.
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


def next_verse(chs, n, rng):
    pool = [(ci, s) for ci, ch in enumerate(chs) for s in sentences(ch) if 5 <= words(s) <= 30]
    pairs = []
    for ci, ch in enumerate(chs):
        ss = sentences(ch)
        pairs += [(ci, a, b) for a, b in zip(ss, ss[1:]) if 5 <= words(a) <= 30 and 5 <= words(b) <= 30]
    items = []
    for ci, context, answer in rng.sample(pairs, n):
        near = [s for cj, s in pool if cj != ci and abs(words(s) - words(answer)) <= max(2, words(answer) // 4)]
        choices = rng.sample(near, 3) + [answer]
        rng.shuffle(choices)
        items.append({'context': context, 'choices': choices, 'gold': choices.index(answer)})
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
    write('kjv-next-verse.jsonl', next_verse(chs, a.items, random.Random(a.seed)))
    write('kjv-last-word.jsonl', last_word(chs, a.items, random.Random(a.seed + 1)))


if __name__ == '__main__':
    main()
