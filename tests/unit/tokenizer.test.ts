import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';

/**
 * The shipped kjv-tiny-llama tokenizer (byte-level BPE written by tools/tiny-llama/) must load in
 * transformers.js, round-trip any UTF-8 text, and give exactly the ids the Python encoder used for
 * the golden fixtures (tests/fixtures/index.json, heldout_ids.bin).
 */
const root = resolve(__dirname, '..', '..');
type Tok = {
  encode: (text: string, options?: { add_special_tokens?: boolean }) => number[];
  decode: (ids: number[], options?: { skip_special_tokens?: boolean }) => string;
};
let tok: Tok;

beforeAll(async () => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = resolve(root, 'public', 'models') + '/';
  tok = (await AutoTokenizer.from_pretrained('kjv-tiny-llama')) as unknown as Tok;
});

const index = JSON.parse(readFileSync(resolve(root, 'tests/fixtures/index.json'), 'utf8')) as {
  tokenizer_cases: { text: string; ids: number[] }[];
  calibration: { doc_token_counts: number[] };
};

describe('kjv-tiny-llama tokenizer (transformers.js)', () => {
  it('round-trips arbitrary UTF-8 text exactly', () => {
    const texts = [
      'In the beginning God created the heaven and the earth.',
      'Héllo wörld! 你好，世界 🙂👍🏽 👨‍👩‍👧 \t tabs\u00a0nbsp\u2003em\u200b  \n\n\r\n  trailing   ',
      '  leading spaces, "quotes" & symbols: ~!@#$%^*()_+{}|:<>?`-=[]\\;\',./ 12345 3.14159',
      'Ελληνικά, русский, עברית, العربية, हिन्दी, 日本語のテキスト, 한국어',
      '\u0000\u0001 control \u007f and lone combining e\u0301',
      '',
    ];
    for (const t of texts) {
      const ids = tok.encode(t);
      expect(ids[0]).toBe(1); // BOS prepended by the post-processor
      expect(tok.decode(ids, { skip_special_tokens: true })).toBe(t);
    }
  });

  it('gives the ids written by the fixture script', () => {
    for (const c of index.tokenizer_cases) expect(tok.encode(c.text)).toEqual(c.ids);
    expect(tok.encode('And God said', { add_special_tokens: false })[0]).not.toBe(1);
  });

  it('matches the Python encoder on the calibration documents and the held-out stream', () => {
    const calib = readFileSync(resolve(root, 'public/data/kjv-calib.txt'), 'utf8');
    const docs = calib.replace(/\n$/, '').split('\n\n');
    expect(docs.map((d) => tok.encode(d).length)).toEqual(index.calibration.doc_token_counts);
    const held = readFileSync(resolve(root, 'public/data/kjv-heldout.txt'), 'utf8');
    const buf = readFileSync(resolve(root, 'tests/fixtures/heldout_ids.bin'));
    const ref = Array.from(new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    expect(tok.encode(held)).toEqual(ref);
  });
});
