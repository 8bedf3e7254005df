import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultScoreCacheDir, fileScoreStore } from '../../src/node/score-cache-files';
import type { CriterionResult } from '../../src/app/protocol';
import {
  criterionSettings, decodeEntry, encodeEntry, readCachedResult, SCORE_CACHE_FORMAT, SCORE_CACHE_VERSION, scoreCacheKey, writeCachedResult, type ScoreKeyParts, type ScoreStore,
} from '../../src/app/score-cache';

const calibration = { textSha256: 'cd'.repeat(32), n: 10, t: 128, seed: 1234, bos: 'first' as const };
const parts: ScoreKeyParts = { fingerprint: 'ab'.repeat(32), calibration, criterion: 'ppl', settings: {} };
const L = 4;
const result: CriterionResult = {
  criterion: 'ppl', scores: [900, 41.5, Infinity, 38.25], ranking: [3, 1, 0, 2], seconds: 12.5, cached: false,
  detail: { fullPpl: 35.1, windows: [[0.1, NaN, -Infinity]] },
};

describe('score cache key', () => {
  it('is a SHA-256 that ignores key order and the calibration description', async () => {
    const key = await scoreCacheKey(parts);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const reordered: ScoreKeyParts = { settings: {}, criterion: 'ppl', calibration: { bos: 'first', seed: 1234, t: 128, n: 10, textSha256: calibration.textSha256 }, fingerprint: parts.fingerprint };
    expect(await scoreCacheKey(reordered)).toBe(key);
    const described = { ...calibration, description: 'another name for the same text' };
    expect(await scoreCacheKey({ ...parts, calibration: described })).toBe(key);
  });

  it('changes with the model, every calibration field, the criterion and the settings', async () => {
    const key = await scoreCacheKey(parts);
    const variants: ScoreKeyParts[] = [
      { ...parts, fingerprint: 'ac'.repeat(32) },
      { ...parts, calibration: { ...calibration, textSha256: 'ce'.repeat(32) } },
      { ...parts, calibration: { ...calibration, n: 11 } },
      { ...parts, calibration: { ...calibration, t: 64 } },
      { ...parts, calibration: { ...calibration, seed: 1235 } },
      { ...parts, calibration: { ...calibration, bos: 'every' } },
      { ...parts, criterion: 'taylor' },
      { ...parts, settings: { steps: 3 } },
    ];
    const keys = await Promise.all(variants.map(scoreCacheKey));
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('ignores the calibration for a data-free criterion', async () => {
    const magnitude = { ...parts, criterion: 'magnitude' as const };
    const key = await scoreCacheKey({ ...magnitude, calibration: null });
    expect(await scoreCacheKey(magnitude)).toBe(key);
    expect(await scoreCacheKey({ ...magnitude, calibration: { ...calibration, seed: 1 } })).toBe(key);
  });

  it('takes k and the protected set into account for iterative PPL only', () => {
    expect(criterionSettings('ppl', { steps: 3, protect: [0, 1] })).toEqual({});
    expect(criterionSettings('taylor', { steps: 3, protect: [0, 1] })).toEqual({});
    expect(criterionSettings('angular', { steps: 3, protect: [0, 1] })).toEqual({ windows: 'all lengths' });
    expect(criterionSettings('iterative-ppl', { steps: 3, protect: [15, 0, 1, 0] })).toEqual({ steps: 3, protect: [0, 1, 15] });
  });
});

describe('score cache entries', () => {
  const expectPpl = { criterion: 'ppl' as const, numLayers: L };
  const key = 'ef'.repeat(32);
  const entry = (patch: (e: Record<string, any>) => void) => {
    const e = JSON.parse(encodeEntry(key, result));
    patch(e);
    return JSON.stringify(e);
  };

  it('round-trip a result exactly, non-finite numbers included, marked cached', () => {
    const text = encodeEntry(key, result);
    expect(JSON.parse(text)).toMatchObject({ format: SCORE_CACHE_FORMAT, version: SCORE_CACHE_VERSION, key });
    expect(decodeEntry(text, key, expectPpl)).toEqual({ ...result, cached: true });
  });

  it('are ignored when corrupt, of another format or version, or not for this key, criterion or model', () => {
    const bad: unknown[] = [
      undefined,
      42,
      '',
      '{"format": "depth-pruning-lab/scores", "version": 1, "key": ',
      'null',
      entry((e) => (e.format = 'depth-pruning-lab/mask')),
      entry((e) => (e.version = SCORE_CACHE_VERSION + 1)),
      entry((e) => delete e.version),
      entry((e) => (e.key = 'ff'.repeat(32))),
      entry((e) => (e.result = null)),
      entry((e) => (e.result.criterion = 'taylor')),
      entry((e) => e.result.scores.pop()),
      entry((e) => (e.result.scores[1] = '41.5')),
      entry((e) => (e.result.ranking = [3, 1, 1, 2])),
      entry((e) => (e.result.ranking = [3, 1, 0, 4])),
      entry((e) => (e.result.ranking = [3, 1, 0, 2.5])),
      entry((e) => (e.result.seconds = -1)),
      entry((e) => delete e.result.seconds),
      entry((e) => (e.result.detail = [])),
    ];
    for (const stored of bad) expect(decodeEntry(stored, key, expectPpl), String(stored)).toBeNull();
    expect(decodeEntry(encodeEntry(key, result), key, { criterion: 'ppl', numLayers: L + 1 })).toBeNull();
  });

  it('read as a miss and write as a no-op when the storage fails', async () => {
    const failing: ScoreStore = {
      get: () => Promise.reject(new Error('IndexedDB unavailable')),
      set: () => Promise.reject(new Error('quota exceeded')),
      clear: () => Promise.resolve(),
    };
    expect(await readCachedResult(failing, key, expectPpl)).toBeNull();
    await expect(writeCachedResult(failing, key, result)).resolves.toBeUndefined();
  });
});

describe('file score store (Node)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dpl-score-cache-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('round-trips results through one file per key and clears only its own files', async () => {
    const store = fileScoreStore(join(dir, 'scores'));
    const key = await scoreCacheKey(parts);
    expect(await readCachedResult(store, key, { criterion: 'ppl', numLayers: L })).toBeNull();
    await writeCachedResult(store, key, result);
    expect(await readdir(join(dir, 'scores'))).toEqual([`${key}.json`]);
    expect(await readCachedResult(store, key, { criterion: 'ppl', numLayers: L })).toEqual({ ...result, cached: true });

    await writeFile(join(dir, 'scores', 'notes.txt'), 'not an entry');
    await store.clear();
    expect(await readdir(join(dir, 'scores'))).toEqual(['notes.txt']);
    expect(await store.get(key)).toBeUndefined();
  });

  it('reads a corrupt file as a miss and overwrites it', async () => {
    const store = fileScoreStore(dir);
    const key = await scoreCacheKey(parts);
    await writeFile(join(dir, `${key}.json`), '{"format": "depth-pruning-lab/scores", "vers');
    expect(await readCachedResult(store, key, { criterion: 'ppl', numLayers: L })).toBeNull();
    await writeCachedResult(store, key, result);
    expect(await readCachedResult(store, key, { criterion: 'ppl', numLayers: L })).toEqual({ ...result, cached: true });
  });

  it('refuses keys that are not SHA-256 hex (no paths outside the folder)', async () => {
    const store = fileScoreStore(dir);
    await expect(store.set('../escape', '{}')).rejects.toThrow(/not a score cache key/);
    await expect(store.get('../escape')).rejects.toThrow(/not a score cache key/);
  });

  it('lives under $XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultScoreCacheDir({ XDG_CACHE_HOME: '/var/cache/me' })).toBe('/var/cache/me/depth-pruning-lab/scores');
    expect(defaultScoreCacheDir({ XDG_CACHE_HOME: 'relative/ignored' })).toBe(join(homedir(), '.cache', 'depth-pruning-lab', 'scores'));
    expect(defaultScoreCacheDir({})).toBe(join(homedir(), '.cache', 'depth-pruning-lab', 'scores'));
  });
});
