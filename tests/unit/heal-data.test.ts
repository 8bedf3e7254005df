/**
 * Healing data (src/heal/data.ts): .jsonl rows (text or Alpaca), bad rows named by line, the Alpaca
 * template verbatim, prompt tokens masked as the seed's finetune (BOS counted in the prompt, EOS
 * appended when it fits, cut at the cutoff), rows without a target dropped, the seeded held-out
 * split, and batches right-padded to a multiple of 8 with padding as no target.
 */
import { describe, expect, it } from 'vitest';
import { alpacaPrompt, healData, HealDataError, packBatch, parseHealJsonl, splitHeldout, tokenizeRows } from '../../src/heal/data';

/** One token per character, BOS 1 first, EOS 2 (as a LLaMA tokenizer with add_bos_token). */
const tok = { encode: (t: string) => [1, ...[...t].map((c) => c.charCodeAt(0))], eosIds: [2], bosId: 1 };

describe('healing data', () => {
  it('parses text and Alpaca rows; input is optional; a bad row names its line', () => {
    const rows = parseHealJsonl('d.jsonl', '{"text":"abc"}\n\n{"instruction":"Do","input":"x","output":"y"}\n{"instruction":"Do","output":"z"}\n');
    expect(rows).toEqual([{ text: 'abc' }, { instruction: 'Do', input: 'x', output: 'y' }, { instruction: 'Do', input: '', output: 'z' }]);
    expect(() => parseHealJsonl('d.jsonl', '{"text":"a"}\n{"text":"b"\n')).toThrow(/d.jsonl: line 2 is not valid JSON/);
    expect(() => parseHealJsonl('d.jsonl', '{"text":"a"}\n[1]\n')).toThrow(/line 2 is not a JSON object/);
    expect(() => parseHealJsonl('d.jsonl', '{"instruction":"a"}\n')).toThrow(/line 1: "output" must be a string/);
    expect(() => parseHealJsonl('d.jsonl', '{"instruction":"a","input":3,"output":"b"}\n')).toThrow(/line 1: "input" must be a string/);
    expect(() => parseHealJsonl('d.jsonl', '{"prompt":"a"}\n')).toThrow(HealDataError);
    expect(() => parseHealJsonl('d.jsonl', '\n\n')).toThrow(/no rows/);
  });

  it('the Alpaca template (tloen/alpaca-lora templates/alpaca.json) with and without input', () => {
    expect(alpacaPrompt('Name a color.', '')).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName a color.\n\n### Response:\n');
    expect(alpacaPrompt('Say {input}', '')).toContain('### Instruction:\nSay {input}\n');
    expect(alpacaPrompt('Sum', '1 $& 2')).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nSum\n\n### Input:\n1 $& 2\n\n### Response:\n');
  });

  it('masks the prompt tokens (BOS included), appends EOS when it fits, cuts at the cutoff, drops rows with no target left', () => {
    const prompt = alpacaPrompt('i', '');
    const P = prompt.length + 1; // + BOS
    const { examples, dropped } = tokenizeRows([{ instruction: 'i', input: '', output: 'ab' }, { text: 'xy' }], tok, 1000);
    expect(dropped).toBe(0);
    const [a, t] = examples;
    expect(Array.from(a!.ids)).toEqual([...tok.encode(prompt + 'ab'), 2]);
    expect(Array.from(a!.targets!)).toEqual([...Array(P).fill(0), 1, 1, 1]);
    expect(Array.from(t!.ids)).toEqual([1, 120, 121, 2]);
    expect(t!.targets).toBeUndefined();
    const cut = tokenizeRows([{ instruction: 'i', input: '', output: 'abcdef' }], tok, P + 2).examples[0]!;
    expect(cut.ids.length).toBe(P + 2); // no room for EOS
    expect(Array.from(cut.targets!.subarray(P))).toEqual([1, 1]);
    expect(tokenizeRows([{ instruction: 'i', input: '', output: 'abc' }], tok, P).dropped).toBe(1);
  });

  it('splits a seeded held-out set off the rows', () => {
    const rows = Array.from({ length: 20 }, (_, i) => i);
    const a = splitHeldout(rows, 3, 7);
    expect(a.heldout).toHaveLength(3);
    expect([...a.train, ...a.heldout].sort((x, y) => x - y)).toEqual(rows);
    expect(splitHeldout(rows, 3, 7)).toEqual(a);
    expect(splitHeldout(rows, 3, 8).heldout).not.toEqual(a.heldout);
    expect(() => splitHeldout(rows, 20, 7)).toThrow(/needs at least 21 rows/);
  });

  it('packs a batch right-padded to a multiple of 8 (at most maxT), padding no target', () => {
    const b = packBatch([{ ids: Uint32Array.from([5, 6, 7]), targets: Uint8Array.from([0, 1, 1]) }, { ids: Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) }]);
    expect(b.T).toBe(16);
    expect(b.N).toBe(2);
    expect(Array.from(b.ids.subarray(0, 4))).toEqual([5, 6, 7, 0]);
    expect(Array.from(b.targets!.subarray(0, 16))).toEqual([0, 1, 1, ...Array(13).fill(0)]);
    expect(Array.from(b.targets!.subarray(16))).toEqual([...Array(9).fill(1), ...Array(7).fill(0)]);
    expect(packBatch([{ ids: new Uint32Array(10) }], 12).T).toBe(12);
    const full = packBatch([{ ids: new Uint32Array(16) }, { ids: new Uint32Array(16) }], 16);
    expect(full.targets).toBeUndefined(); // every next token is a label: no mask needed
  });

  it('healData: .jsonl by name (split from the rows), plain text as windows with the held-out text', () => {
    const jsonl = Array.from({ length: 30 }, (_, i) => JSON.stringify({ instruction: `q${i}`, output: `a${i}` })).join('\n');
    const j = healData({ name: 'a.JSONL', text: jsonl }, tok, { window: 256, seed: 1 });
    expect(j.description).toMatchObject({ format: 'jsonl-alpaca', train: 27, heldout: 3, dropped: 0 });
    expect(j.data.train.every((e) => e.targets)).toBe(true);
    const t = healData({ name: 'kjv.txt', text: 'x'.repeat(99) }, tok, { window: 10, seed: 1 }, { name: 'h', text: 'y'.repeat(45), maxWindows: 3 });
    expect(t.description).toMatchObject({ format: 'text', train: 10, heldout: 3 });
    expect(Array.from(t.data.heldout[0]!.ids.subarray(0, 2))).toEqual([1, 121]);
  });
});
