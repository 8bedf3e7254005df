import { describe, expect, it } from 'vitest';
import {
  buildMask,
  MaskError,
  parseMask,
  privateStringReason,
  serializeMask,
  validateMask,
  withHealing,
  type BuildMaskInput,
  type MaskHealing,
  type PruningMask,
} from '../../src/prune/mask';
import { rankBlocks } from '../../src/prune/criteria/ranking';
import { selectBlocks } from '../../src/prune/select';

const FP = 'a3f1c0de'.repeat(8);
const SHA = '5e1d'.repeat(16);
const L = 16;

/** Taylor-like scores for a 16-block model: large at the ends, small in the middle. */
const taylor = [9.1, 7.7, 6.2, 5.9, 3.1, 2.2, 1.4, 0.9, 0.8, 1.1, 1.7, 2.9, 3.3, 4.4, 6.0, 8.8];
const ppl = [812.5, 40.2, 31.0, 29.9, 27.4, 26.9, 26.1, 25.8, 25.7, 26.0, 26.3, 27.0, 27.2, 28.1, 30.4, 55.0];

function input(overrides: Partial<BuildMaskInput> = {}): BuildMaskInput {
  const protectedBlocks = [0, 1, 2, 3, 14, 15];
  const { removed } = selectBlocks(taylor, 3, protectedBlocks);
  return {
    model: { source: { kind: 'embedded', name: 'kjv-tiny-llama' }, architecture: 'LlamaForCausalLM', num_hidden_layers: L, fingerprint: FP },
    criterion: {
      name: 'taylor',
      calibration: { textSha256: SHA, description: 'KJV calibration split (public/data/kjv-calib.txt)', n: 10, t: 128, seed: 1234, bos: 'first' },
      protected_blocks: protectedBlocks,
    },
    scores: { taylor, ppl: Float64Array.from(ppl) },
    removed,
    metrics: {
      perplexity: { protocol: { window: 128, bos: 'first' }, eval_text_sha256: SHA, eval_text_description: 'KJV held-out split', before: 21.4, after: 27.9 },
      speed: {
        adapter: 'NVIDIA GeForce RTX 4090 (nvidia, ada-lovelace)',
        decode_tokens_per_s: { before: 812, after: 1003 },
        prefill_tokens_per_s: { before: 25000, after: 30500 },
        prompt_tokens: 128,
        new_tokens: 128,
        batch: 1,
      },
    },
    createdAt: '2026-11-29T18:30:00.000Z',
    ...overrides,
  };
}

function validMask(): PruningMask {
  return buildMask(input());
}

/** The issues of a mutated copy of a valid mask (the copy is serialized with JSON.stringify). */
function issuesOf(mutate: (m: Record<string, any>) => void): string[] {
  const m = JSON.parse(JSON.stringify(validMask()));
  mutate(m);
  try {
    parseMask(JSON.stringify(m));
  } catch (e) {
    expect(e).toBeInstanceOf(MaskError);
    return (e as MaskError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

function expectIssue(mutate: (m: Record<string, any>) => void, path: string, pattern: RegExp): void {
  const issues = issuesOf(mutate);
  const hit = issues.find((line) => line.startsWith(`${path}: `) && pattern.test(line));
  expect(hit, `expected an issue at ${path} matching ${pattern}; got:\n${issues.join('\n')}`).toBeDefined();
}

describe('mask: building and round trip', () => {
  it('builds a valid mask with derived fields', () => {
    const m = validMask();
    expect(m.format).toBe('depth-pruning-lab/mask');
    expect(m.version).toBe(1);
    expect(m.removed).toEqual([7, 8, 9]);
    expect(m.kept).toEqual([0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15]);
    expect(m.result.num_hidden_layers).toBe(13);
    expect(m.ranking.slice(0, 4)).toEqual([8, 7, 9, 6]);
    expect(m.criterion.calibration).toEqual({ text_sha256: SHA, description: 'KJV calibration split (public/data/kjv-calib.txt)', num_samples: 10, seq_len: 128, seed: 1234, bos: 'first' });
    expect(m.lab_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(validateMask(m)).toEqual([]);
  });

  it('serializes and parses back to an equal mask', () => {
    const m = validMask();
    const text = serializeMask(m);
    expect(text).toContain('"removed": [7, 8, 9]');
    expect(parseMask(text)).toEqual(m);
    expect(parseMask(text, { fingerprint: FP, numLayers: L, architecture: 'LlamaForCausalLM' })).toEqual(m);
  });

  it('accepts the other valid forms: hub source, manual without scores, magnitude without data, no metrics', () => {
    const hub = buildMask(input({ model: { source: { kind: 'hub', id: 'meta-llama/Llama-2-7b-hf', revision: 'main' }, architecture: 'LlamaForCausalLM', num_hidden_layers: L, fingerprint: FP } }));
    expect(parseMask(serializeMask(hub)).model.source).toEqual({ kind: 'hub', id: 'meta-llama/Llama-2-7b-hf', revision: 'main' });

    const manual = buildMask({ ...input(), criterion: { name: 'manual', calibration: null, protected_blocks: [] }, scores: {}, removed: [0, 15], metrics: undefined });
    expect(manual.ranking).toEqual([]);
    expect(parseMask(serializeMask(manual)).removed).toEqual([0, 15]);

    const magnitude = buildMask({ ...input(), criterion: { name: 'magnitude', calibration: null, protected_blocks: [] }, scores: { magnitude: taylor }, removed: [7, 8] });
    // The quantized format scores were computed with is recorded; the format as stored is not (masks read as before).
    const q4 = buildMask({ ...input(), criterion: { ...input().criterion, weight_format: 'q4' } });
    expect(parseMask(serializeMask(q4)).criterion.weight_format).toBe('q4');
    expect('weight_format' in buildMask({ ...input(), criterion: { ...input().criterion, weight_format: 'float' } }).criterion).toBe(false);
    expect(() => parseMask(serializeMask(q4).replace('"weight_format": "q4"', '"weight_format": "q3"'))).toThrow(/weight_format/);
    expect(parseMask(serializeMask(magnitude)).criterion.calibration).toBeNull();

    const angular = buildMask({ ...input(), criterion: { name: 'angular', calibration: input().criterion.calibration, protected_blocks: [] }, scores: { angular: [...taylor.slice(0, 14), null, null] }, removed: [9, 10, 11] });
    expect(parseMask(serializeMask(angular)).scores.angular![15]).toBeNull();
  });

  it('writes non-finite scores as null and ranks them last', () => {
    const m = buildMask({ ...input(), scores: { taylor: [NaN, ...taylor.slice(1, 15), Infinity] } });
    expect(m.scores.taylor![0]).toBeNull();
    expect(m.scores.taylor![15]).toBeNull();
    expect(m.ranking.slice(-2)).toEqual([0, 15]);
    expect(rankBlocks([3, null, 1, 1])).toEqual([2, 3, 0, 1]);
  });

  it('refuses to build or serialize an invalid mask', () => {
    expect(() => buildMask({ ...input(), removed: [99] })).toThrow(MaskError);
    expect(() => buildMask({ ...input(), removed: [0] })).toThrow(/protected/);
    const m = validMask();
    (m as any).kept = [1];
    expect(() => serializeMask(m)).toThrow(MaskError);
  });
});

describe('mask: each kind of invalid input has its own message', () => {
  it('not JSON, not an object, wrong format, wrong version', () => {
    expect(() => parseMask('{"format": ')).toThrow(/not valid JSON/);
    expect(() => parseMask('[1, 2]')).toThrow(/must be a JSON object, got array/);
    expect(() => parseMask('{"format": "something/else", "version": 1}')).toThrow(/not a depth-pruning-lab mask/);
    expect(() => parseMask('{"format": "depth-pruning-lab/mask", "version": 3}')).toThrow(/unsupported mask version 3 \(this lab reads versions 1 and 2\)/);
    expect(() => parseMask('x'.repeat(9 * 1024 * 1024))).toThrow(/a mask is at most/);
  });

  it('schema: missing, unknown, wrong type, enum, pattern, format, range', () => {
    expectIssue((m) => delete m.model.fingerprint, '/model/fingerprint', /missing \(required\)/);
    expectIssue((m) => (m.model.hf_token = 'x'), '/model/hf_token', /not a field of the mask format/);
    expectIssue((m) => (m.extra = 1), '/extra', /not a field/);
    expectIssue((m) => (m.model.num_hidden_layers = '16'), '/model/num_hidden_layers', /must be integer, got string/);
    expectIssue((m) => (m.criterion.name = 'random'), '/criterion/name', /must be one of "ppl", "taylor"/);
    expectIssue((m) => (m.criterion.calibration.bos = 'none'), '/criterion/calibration/bos', /must be one of "first", "every"/);
    expectIssue((m) => (m.criterion.calibration.num_samples = 0), '/criterion/calibration/num_samples', /must be >= 1, got 0/);
    expectIssue((m) => (m.criterion.calibration = 'calib'), '/criterion/calibration', /must be (null|object)/);
    expectIssue((m) => (m.model.fingerprint = 'XYZ'), '/model/fingerprint', /lowercase hex SHA-256/);
    expectIssue((m) => (m.created_at = 'yesterday'), '/created_at', /ISO 8601/);
    expectIssue((m) => (m.lab_version = 'v1'), '/lab_version', /version number/);
    expectIssue((m) => (m.model.source = { kind: 'ftp', name: 'x' }), '/model/source/kind', /must be "hub", "local" or "embedded", got "ftp"/);
    expectIssue((m) => (m.model.source = { kind: 'hub', id: 'a/b' }), '/model/source/revision', /missing/);
    expectIssue((m) => (m.model.source.name = 'models/tiny'), '/model/source/name', /without path separators/);
    expectIssue((m) => (m.scores.wanda = m.scores.taylor), '/scores/wanda', /not a known criterion/);
    expectIssue((m) => (m.scores.taylor[3] = 'big'), '/scores/taylor/3', /must be number or null, got string/);
    expectIssue((m) => (m.removed = [7, 7, 8, 9]), '/removed', /duplicate/);
    expectIssue((m) => (m.kept = []), '/kept', /at least 1/);
    expectIssue((m) => (m.removed[0] = -1), '/removed/0', /must be >= 0/);
    expectIssue((m) => (m.metrics.perplexity.protocol.window = 1.5), '/metrics/perplexity/protocol/window', /must be integer/);
    expectIssue((m) => delete m.metrics.speed.adapter, '/metrics/speed/adapter', /missing/);
  });

  it('semantics: partition, lengths, result, sortedness, ranking, protection, calibration', () => {
    expectIssue((m) => (m.removed = [7, 8, 9, 16]), '/removed/3', /block 16 does not exist in a model of 16 blocks/);
    expectIssue((m) => m.kept.push(8), '/kept', /block 8 is both removed and kept/);
    expectIssue((m) => (m.kept = m.kept.filter((b: number) => b !== 4)), '/kept', /block\(s\) 4 are neither kept nor removed/);
    expectIssue((m) => (m.result.num_hidden_layers = 16), '/result/num_hidden_layers', /must equal the number of kept blocks \(13\), got 16/);
    expectIssue((m) => m.scores.ppl.pop(), '/scores/ppl', /one score per block \(16\), has 15/);
    expectIssue((m) => (m.removed = [9, 8, 7]), '/removed', /sorted ascending/);
    expectIssue((m) => delete m.scores.taylor, '/scores/taylor', /scores of the chosen criterion "taylor"/);
    expectIssue((m) => m.ranking.pop(), '/ranking', /every block exactly once \(16\), has 15/);
    expectIssue((m) => (m.ranking = []), '/ranking', /may be empty only for the "manual" criterion/);
    expectIssue((m) => { m.removed = [5, 6, 7]; m.kept = [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15]; }, '/removed', /does not follow the ranking of "taylor".*\[7, 8, 9\]/);
    expectIssue((m) => { m.removed = [0, 7, 8]; m.kept = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15]; m.criterion.name = 'manual'; }, '/removed', /block 0 is protected/);
    expectIssue((m) => (m.scores.taylor[10] = 0.1), '/ranking', /does not follow \/scores\/taylor \(ascending\): block 6 \(score 1.4\) is ranked before block 10 \(score 0.1\)/);
    expectIssue((m) => (m.criterion.calibration = null), '/criterion/calibration', /is null, but a criterion that reads calibration data/);
    expectIssue((m) => { m.criterion.name = 'angular'; m.scores.angular = m.scores.taylor; m.removed = [6, 8, 9]; m.kept = [0, 1, 2, 3, 4, 5, 7, 10, 11, 12, 13, 14, 15]; }, '/removed', /contiguous/);
  });

  it('privacy: no absolute local paths, no tokens', () => {
    expectIssue((m) => (m.criterion.calibration.description = '/home/alice/data/kjv.txt'), '/criterion/calibration/description', /absolute local path/);
    expectIssue((m) => (m.criterion.calibration.description = 'text from C:\\Users\\bob\\kjv.txt'), '/criterion/calibration/description', /absolute local path/);
    expectIssue((m) => (m.metrics.speed.adapter = 'gpu hf_abcdefghijklmnopqrstuvwxyz0123'), '/metrics/speed/adapter', /access token/);
    expectIssue((m) => (m.model.source.name = 'hf_abcdefghijklmnopqrstuvwxyz0123'), '/model/source/name', /access token/);
    expect(privateStringReason('~/models/llama')).toMatch(/path/);
    expect(privateStringReason('\\\\server\\share\\x')).toMatch(/path/);
    expect(privateStringReason('public/data/kjv-calib.txt')).toBeUndefined();
    expect(privateStringReason('meta-llama/Llama-2-7b-hf')).toBeUndefined();
    expect(privateStringReason('hf_short')).toBeUndefined();
  });

  it('against the loaded model: fingerprint, layer count, architecture', () => {
    const text = serializeMask(validMask());
    expect(() => parseMask(text, { fingerprint: 'b'.repeat(64) })).toThrow(/made for another checkpoint/);
    expect(() => parseMask(text, { numLayers: 22 })).toThrow(/mask is for a model with 16 blocks, the loaded model has 22/);
    expect(() => parseMask(text, { architecture: 'MistralForCausalLM' })).toThrow(/mask is for LlamaForCausalLM/);
    try {
      parseMask(text, { fingerprint: 'b'.repeat(64), numLayers: 22 });
    } catch (e) {
      expect((e as MaskError).issues.map((i) => i.path)).toEqual(['/model/num_hidden_layers', '/model/fingerprint']);
    }
  });

  it('lists every problem at once, with a readable message', () => {
    try {
      parseMask(JSON.stringify({ ...validMask(), kept: 'all', extra: true, version: 1 }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MaskError);
      const err = e as MaskError;
      expect(err.issues.length).toBe(2);
      expect(err.message).toMatch(/^invalid pruning mask:\n {2}- /);
      expect(err.message).toContain('  - /kept: must be array, got string');
      expect(err.message).toContain('  - /extra: is not a field of the mask format');
    }
  });
});

describe('mask: fuzz', () => {
  it('a few thousand seeded mutations only ever fail with MaskError', async () => {
    const { seededRandom } = await import('../helpers/numeric');
    const { uniform } = seededRandom('mask fuzz');
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(uniform() * xs.length)]!;
    const base = serializeMask(validMask());
    const weird: unknown[] = [null, true, 0, -1, 1.5, 1e308, -0, '', 'x', '/home/u/x', 'hf_' + 'a'.repeat(30), [], {}, [1, 2], { a: 1 }, 4096, 2 ** 53, '__proto__', [null], [[[]]]];

    /** Every (container, key) in a JSON value. */
    function slots(v: any, out: [any, string | number][] = []): [any, string | number][] {
      if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); slots(x, out); });
      else if (v && typeof v === 'object') for (const k of Object.keys(v)) { out.push([v, k]); slots(v[k], out); }
      return out;
    }

    const diff = (a: any, b: any, p = ''): string[] => {
      if (JSON.stringify(a) === JSON.stringify(b)) return [];
      if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => diff(a[k], b[k], `${p}/${k}`));
      return [`${p}: ${JSON.stringify(a)?.slice(0, 50)} -> ${JSON.stringify(b)?.slice(0, 50)}`];
    };
    let accepted = 0;
    const N = 3000;
    for (let trial = 0; trial < N; trial++) {
      let text: string;
      const kind = Math.floor(uniform() * 7);
      if (kind === 0) {
        text = base.slice(0, Math.floor(uniform() * base.length)); // truncation
      } else if (kind === 1) {
        const chars = [...base];
        for (let j = 0; j < 1 + uniform() * 5; j++) chars[Math.floor(uniform() * chars.length)] = String.fromCharCode(Math.floor(uniform() * 128));
        text = chars.join(''); // garbage bytes
      } else {
        const m = JSON.parse(base);
        const all = slots(m);
        for (let j = 0; j < 1 + Math.floor(uniform() * 3); j++) {
          const [obj, key] = pick(all);
          if (kind === 2) Array.isArray(obj) ? obj.splice(key as number, 1) : delete obj[key]; // delete
          else if (kind === 3) obj[key] = pick(weird); // retype
          else if (kind === 4) obj[key] = typeof obj[key] === 'number' ? pick([-1, 16, 4095, 4096, 1e9, 0.5, NaN]) : pick(weird); // out of range
          else if (kind === 5) { if (Array.isArray(obj)) obj.push(obj[key as number]); else obj[`${String(key)}_copy`] = obj[key]; } // duplicate
          else obj[pick(['__proto__', 'constructor', 'token', 'path'])] = pick(weird); // extra keys
        }
        text = JSON.stringify(m);
      }
      try {
        parseMask(text, { fingerprint: FP, numLayers: L });
        accepted++;
        if (process.env.FUZZ_SHOW && accepted < 40) console.log('ACCEPTED', kind, text.length, JSON.stringify(diff(JSON.parse(base), JSON.parse(text))));
      } catch (e) {
        if (!(e instanceof MaskError)) throw new Error(`trial ${trial}: threw ${String(e)} for ${text.slice(0, 300)}`);
        expect(e.issues.length).toBeGreaterThan(0);
        for (const issue of e.issues) expect(typeof issue.message).toBe('string');
      }
    }
    console.log(`[mask fuzz] ${accepted} of ${N} mutated masks still valid`);
    // Some mutations are harmless (e.g. a score retyped to another number); most must be caught.
    expect(accepted).toBeLessThan(N / 4);
  });
});

describe('mask version 2: the healing record', () => {
  const healing: MaskHealing = {
    method: 'lora',
    settings: {
      r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      learning_rate: 1e-3, warmup_steps: 5, max_steps: 50, per_device_train_batch_size: 4, gradient_accumulation_steps: 1, seq_len: 64, seed: 0, eval_steps: 5,
    },
    steps: 50,
    best_step: 45,
    data: { description: 'embedded:kjv-calib.txt', text_sha256: SHA, format: 'text', train_sequences: 900, heldout_sequences: 32 },
    heldout: { description: 'the first 32 windows of embedded:kjv-heldout.txt', before: 61.2, after: 44.9 },
  };

  it('a version 1 mask stays valid and is still written as version 1', () => {
    const m = validMask();
    expect(m.version).toBe(1);
    expect(parseMask(serializeMask(m)).version).toBe(1);
  });

  it('withHealing writes version 2 with the record after metrics; it parses back equal', () => {
    const m = withHealing(validMask(), healing);
    expect(m.version).toBe(2);
    const text = serializeMask(m);
    expect(text.indexOf('"metrics"')).toBeLessThan(text.indexOf('"healing"'));
    expect(text.indexOf('"healing"')).toBeLessThan(text.indexOf('"lab_version"'));
    expect(parseMask(text)).toEqual(m);
    expect(parseMask(text).healing).toEqual(healing);
    const nan = withHealing(validMask(), { ...healing, heldout: { ...healing.heldout, after: NaN } });
    expect(nan.healing!.heldout.after).toBeNull();
  });

  it('refuses a healing record in a version 1 mask, a broken record, and a best step past the steps', () => {
    const healed = () => JSON.parse(serializeMask(withHealing(validMask(), healing)));
    const issues = (m: Record<string, any>) => validateMask(m).map((i) => `${i.path}: ${i.message}`).join('\n');
    expect(issues({ ...healed(), version: 1 })).toMatch(/\/version/);
    expect(issues({ ...healed(), healing: { ...healing, method: 'dora' } })).toMatch(/\/healing\/method/);
    expect(issues({ ...healed(), healing: { ...healing, settings: { ...healing.settings, lora_dropout: 1 } } })).toMatch(/\/healing\/settings\/lora_dropout/);
    expect(issues({ ...healed(), healing: { ...healing, best_step: 51 } })).toMatch(/\/healing\/best_step: is past the 50 steps taken/);
    expect(validateMask({ ...healed(), healing: undefined })).toEqual([]); // version 2 without a record is valid
  });
});
