#!/usr/bin/python3
"""Step 1: KJV text -> cleaned chapter documents, whole-book train/held-out split.

Input : `bible "Gen1:1-Rev22:21"` (Debian package bible-kjv), cached in work/kjv.txt.
Output: work/train.txt          all training chapters (one chapter per line, blank line between)
        public/data/kjv-calib.txt   a deterministic subset of training chapters (~250 KB)
        public/data/kjv-heldout.txt all chapters of the held-out books

Cleaning: the "Book N" headers and the verse numbers are removed, the wrapped lines of
a verse are re-joined, and the verses of a chapter are joined with single spaces, so a
document is one chapter written as ONE line of plain KJV prose. Documents are separated
by exactly one blank line ("\n\n"); the files end with a single "\n".
"""
import os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
WORK = os.path.join(HERE, 'work')

# Whole books never trained on (OT law/history/wisdom/prophets + NT gospel/epistles).
HELDOUT_BOOKS = ['Ruth', 'Ecclesiastes', 'Lamentations', 'Jonah', 'Micah', 'Mark', 'Galatians', 'James', '1 Peter']
CALIB_EVERY = 20   # every 20th training chapter (in Bible order) goes into kjv-calib.txt


def load_raw():
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, 'kjv.txt')
    if not os.path.exists(path):
        txt = subprocess.run(['bible', 'Gen1:1-Rev22:21'], check=True, capture_output=True, text=True).stdout
        with open(path, 'w') as f:
            f.write(txt)
    with open(path) as f:
        return f.read()


def parse(raw):
    """-> list of (book, chapter, text)"""
    lines = raw.split('\n')
    chapters, cur, verses = [], None, []
    head = re.compile(r'^((?:\d )?[A-Z][A-Za-z ]*?) (\d+)$')
    verse = re.compile(r'^  (\d+) (.*)$')
    for i, ln in enumerate(lines):
        prev_blank = i == 0 or lines[i - 1].strip() == ''
        next_blank = i + 1 >= len(lines) or lines[i + 1].strip() == ''
        m = head.match(ln)
        if m and prev_blank and next_blank:
            if cur:
                chapters.append((cur[0], cur[1], ' '.join(verses)))
            cur, verses = (m.group(1), int(m.group(2))), []
            continue
        if ln.strip() == '':
            continue
        v = verse.match(ln)
        if v:
            verses.append(v.group(2).strip())
        else:
            verses[-1] = verses[-1] + ' ' + ln.strip()
    chapters.append((cur[0], cur[1], ' '.join(verses)))
    clean = []
    for b, c, t in chapters:
        t = re.sub(r'\s+', ' ', t).strip()
        clean.append((b, c, t))
    return clean


def write_docs(path, docs):
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n\n'.join(docs) + '\n')


def main():
    chapters = parse(load_raw())
    books = sorted({b for b, _, _ in chapters})
    assert len(chapters) == 1189, len(chapters)
    assert len(books) == 66, books
    for b in HELDOUT_BOOKS:
        assert b in books, b
    train = [t for b, c, t in chapters if b not in HELDOUT_BOOKS]
    held = [t for b, c, t in chapters if b in HELDOUT_BOOKS]
    calib = train[::CALIB_EVERY]
    write_docs(os.path.join(WORK, 'train.txt'), train)
    os.makedirs(os.path.join(ROOT, 'public', 'data'), exist_ok=True)
    write_docs(os.path.join(ROOT, 'public', 'data', 'kjv-calib.txt'), calib)
    write_docs(os.path.join(ROOT, 'public', 'data', 'kjv-heldout.txt'), held)
    tot = sum(len(t) for t in train) + sum(len(t) for t in held)
    print(f'chapters {len(chapters)}  train {len(train)} ({sum(len(t) for t in train)} chars)  '
          f'held-out {len(held)} ({sum(len(t) for t in held)} chars, {100*sum(len(t) for t in held)/tot:.1f}%)  '
          f'calib {len(calib)} ({sum(len(t) for t in calib)} chars)')


if __name__ == '__main__':
    main()
