import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, FileMissingError } from '../../src/io/errors';
import { FilesSource } from '../../src/io/file-source';
import { hubSource } from '../../src/io/http-source';
import { NodeFolderSource } from '../../src/node/folder-source';
import { StreamDecoder, TextTokenizer, loadTokenizer } from '../../src/io/tokenizer';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { asFiles } from '../helpers/synthetic-checkpoint';

const EMBEDDED = 'public/models/kjv-tiny-llama';

/** GPT-2's byte -> printable character map used by ByteLevel tokenizers. */
function bytesToUnicode(): string[] {
  const keep = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255));
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep.includes(b) ? b : 256 + n++);
  return out;
}

/** A tiny byte-level BPE tokenizer.json: 3 specials, 256 byte tokens, a few merges. */
function smallTokenizer(): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const chars = bytesToUnicode();
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  chars.forEach((c, i) => (vocab[c] = 3 + i));
  const merges = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n']];
  let next = 259;
  for (const [a, b] of merges) vocab[a! + b!] = next++;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: merges.map((m) => m.join(' ')) },
  };
  return { json, config: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, tokenizer_class: 'PreTrainedTokenizerFast' } };
}

const texts = [
  'In the beginning God created the heaven and the earth.',
  'And God said, Let there be light: and there was light.',
  'Ünïcödé: 日本語のテキスト, emoji 😀🙏🏽 and math ∑∞ — “quotes”.',
  '  leading and trailing spaces  \n\nnew lines\ttabs',
];

function checkTokenizer(tok: TextTokenizer) {
  for (const text of texts) {
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(tok.decode(ids)).toBe(text);
    const withBos = tok.encode(text);
    expect(withBos[0]).toBe(tok.bosId);
    expect(withBos.slice(1)).toEqual(ids);
    expect(tok.decode(withBos)).toBe(text);
    expect(tok.decode(withBos, { skipSpecialTokens: false }).startsWith('<s>')).toBe(true);

    // Streaming: chunks concatenate to the text; no chunk carries a half character.
    const stream = tok.streamDecoder();
    const chunks: string[] = [];
    for (const id of [...ids, ...tok.eosIds]) {
      const piece = stream.push(id);
      if (piece) chunks.push(piece);
    }
    chunks.push(stream.flush());
    expect(chunks.join('')).toBe(text);
    expect(chunks.some((c) => c.includes('\uFFFD'))).toBe(false);
    expect(stream.text).toBe(text);
  }
}

describe('tokenizer', () => {
  it('small byte-level BPE tokenizer: round trip, BOS/EOS, streaming over split UTF-8', async () => {
    const { json, config } = smallTokenizer();
    const files = new Map([
      ['tokenizer.json', new TextEncoder().encode(JSON.stringify(json))],
      ['tokenizer_config.json', new TextEncoder().encode(JSON.stringify(config))],
    ]);
    const tok = await loadTokenizer(new FilesSource(asFiles(files)), { config: { bosTokenId: 1, eosTokenIds: [2] } });
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([2]);
    expect(tok.isEos(2)).toBe(true);
    checkTokenizer(tok);
    // An emoji is 4 byte tokens here: nothing comes out until the last one.
    const ids = tok.encode('😀', { addSpecialTokens: false });
    expect(ids.length).toBe(4);
    const stream = tok.streamDecoder();
    expect(ids.map((id) => stream.push(id))).toEqual(['', '', '', '😀']);
  });

  it.runIf(existsSync(`${EMBEDDED}/tokenizer.json`))('the embedded kjv-tiny-llama tokenizer', async () => {
    const tok = await loadTokenizer(new NodeFolderSource(EMBEDDED));
    expect(tok.bosId).toBe(tok.tokenToId('<s>'));
    expect(tok.eosIds).toContain(tok.tokenToId('</s>'));
    checkTokenizer(tok);
  });

  describe('through the Hub code path', () => {
    let server: HubServer;
    beforeAll(async () => {
      const { json, config } = smallTokenizer();
      server = await startHubServer({
        'org/tok': { files: new Map([['tokenizer.json', new TextEncoder().encode(JSON.stringify(json))], ['tokenizer_config.json', new TextEncoder().encode(JSON.stringify(config))]]) },
        'org/none': { files: new Map([['config.json', new TextEncoder().encode('{}')]]) },
      });
    });
    afterAll(async () => server.close());

    it('loads tokenizer files from the configured host; a missing tokenizer.json is a clear error', async () => {
      const tok = await loadTokenizer(hubSource({ modelId: 'org/tok', host: server.url }));
      expect(tok.decode(tok.encode('hello there'))).toBe('hello there');
      await expect(loadTokenizer(hubSource({ modelId: 'org/none', host: server.url }))).rejects.toBeInstanceOf(FileMissingError);
    });
  });

  it('rejects a file that is not a tokenizers JSON', () => {
    expect(() => new TextTokenizer({ foo: 1 })).toThrow(CheckpointError);
  });

  it('stream decoder waits at most MAX_PENDING ids on an incomplete character', () => {
    const d = new StreamDecoder((ids) => ids.map(() => '\uFFFD').join(''));
    const out = Array.from({ length: StreamDecoder.MAX_PENDING }, (_, i) => d.push(i));
    expect(out.slice(0, -1).every((s) => s === '')).toBe(true);
    expect(out[out.length - 1]).toBe('\uFFFD'.repeat(StreamDecoder.MAX_PENDING));
  });
});
