import { describe, expect, it } from 'vitest';
import { CalibrationError, documentsFromUpload, sampleCalibration, splitDocuments } from '../../src/prune/calibration';

/** A word-level toy tokenizer: id = word length + 10, BOS = 1. */
const toy = {
  bosId: 1,
  encode: (text: string, special: boolean) => [...(special ? [1] : []), ...text.split(/\s+/).map((w) => w.length + 10)],
};
const doc = (words: number) => Array.from({ length: words }, (_, i) => 'w'.repeat((i % 7) + 1)).join(' ');
const spec = { textSha256: 'x', description: 'toy', n: 3, t: 8, seed: 1234, bos: 'first' as const };

describe('calibration sampler', () => {
  const docs = [doc(20), doc(3), doc(30), doc(9), doc(12), doc(40)];

  it('is deterministic for a seed and differs across seeds', () => {
    const a = sampleCalibration(docs, toy, spec);
    expect(sampleCalibration(docs, toy, spec)).toEqual(a);
    expect(sampleCalibration(docs, toy, { ...spec, seed: 1 }).draws).not.toEqual(a.draws);
  });

  it('uses distinct documents of at least T tokens and carries BOS only at document start', () => {
    const set = sampleCalibration(docs, toy, { ...spec, n: 4 });
    expect(new Set(set.draws.map((d) => d.doc)).size).toBe(4);
    set.draws.forEach((d, i) => {
      const tokens = toy.encode(docs[d.doc]!, true);
      expect(tokens.length).toBeGreaterThanOrEqual(8);
      const row = [...set.ids.subarray(i * 8, i * 8 + 8)];
      expect(row).toEqual(tokens.slice(d.start, d.start + 8));
      expect(row[0] === 1).toBe(d.start === 0);
    });
  });

  it('prepends BOS to every window in "every" mode', () => {
    const set = sampleCalibration(docs, toy, { ...spec, bos: 'every' });
    for (let i = 0; i < 3; i++) {
      expect(set.ids[i * 8]).toBe(1);
      expect([...set.ids.subarray(i * 8 + 1, i * 8 + 8)]).not.toContain(1);
    }
  });

  it('says how much text is needed when there is too little', () => {
    expect(() => sampleCalibration(docs, toy, { ...spec, n: 6 })).toThrow(CalibrationError);
    expect(() => sampleCalibration(docs, toy, { ...spec, n: 6 })).toThrow(/need 6 distinct documents/);
  });

  it('reads blank-line separated text and JSON Lines', () => {
    expect(splitDocuments('a b\nc\n\n\n d \r\n\r\ne')).toEqual(['a b\nc', 'd', 'e']);
    expect(documentsFromUpload('x.jsonl', '{"text":"a"}\n\n{"text":"b"}\n')).toEqual(['a', 'b']);
    expect(() => documentsFromUpload('x.jsonl', '{"text":1}')).toThrow(/line 1 has no string "text"/);
    expect(() => documentsFromUpload('x.jsonl', 'nope')).toThrow(/line 1 is not valid JSON/);
  });
});
