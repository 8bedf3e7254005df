/**
 * The score cache: criterion results keyed by what determines them, so asking the same criterion
 * on the same model and calibration again costs nothing. The key is SHA-256 over canonical JSON
 * (key order does not matter) of the model fingerprint, the calibration (text hash, N, T, seed,
 * BOS; null for data-free criteria), the criterion and the settings that change its result.
 * Entries are JSON text with a format version; an entry that does not validate is a miss, so a
 * corrupt or old-format entry is recomputed and overwritten, never trusted.
 *
 * Storage is injected: IndexedDB in the browser (score-cache-idb.ts), one file per key in Node
 * (src/node/score-cache-files.ts).
 */
import { canonicalJson, sha256Hex } from '../io/fingerprint';
import type { CalibrationSpec } from '../prune/calibration';
import { criterion as criterionById, type ScoredCriterion } from '../prune/criteria/registry';
import type { CriterionResult } from './protocol';

export const SCORE_CACHE_FORMAT = 'depth-pruning-lab/scores';
/** Bump when an entry's shape or a criterion's computation changes: older entries then miss. */
export const SCORE_CACHE_VERSION = 1;

/** Where entries live: text by key. Errors are treated as misses (a cache is best effort). */
export interface ScoreStore {
  get(key: string): Promise<unknown>;
  set(key: string, text: string): Promise<void>;
  clear(): Promise<void>;
}

export interface ScoreKeyParts {
  /** LoadedCheckpoint.fingerprint: the layout plus sampled weight bytes. */
  fingerprint: string;
  /** Ignored for data-free criteria; its description (a display name) never enters the key. */
  calibration: Pick<CalibrationSpec, 'textSha256' | 'n' | 't' | 'seed' | 'bos'> | null;
  criterion: ScoredCriterion;
  /** From criterionSettings. */
  settings: Record<string, unknown>;
}

export async function scoreCacheKey(p: ScoreKeyParts): Promise<string> {
  const c = criterionById(p.criterion).needsData ? p.calibration : null;
  const calibration = c && { textSha256: c.textSha256, n: c.n, t: c.t, seed: c.seed, bos: c.bos };
  return sha256Hex(canonicalJson({ version: SCORE_CACHE_VERSION, fingerprint: p.fingerprint, calibration, criterion: p.criterion, settings: p.settings }));
}

/**
 * The request settings a criterion's result depends on (the registry's cacheSettings): most
 * apply k and protection only at selection time and add nothing.
 */
export function criterionSettings(criterion: ScoredCriterion, o: { steps: number; protect: readonly number[] }): Record<string, unknown> {
  return criterionById(criterion).cacheSettings(o);
}

// JSON has no NaN or Infinity; tag them so a cached result equals the computed one.
const replacer = (_: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { nonFinite: String(v) } : v);
const reviver = (_: string, v: unknown) => {
  const tag = isRecord(v) && Object.keys(v).length === 1 ? v.nonFinite : undefined;
  return tag === 'NaN' || tag === 'Infinity' || tag === '-Infinity' ? Number(tag) : v;
};

export function encodeEntry(key: string, result: CriterionResult): string {
  const { criterion, scores, ranking, seconds, detail } = result;
  return JSON.stringify({ format: SCORE_CACHE_FORMAT, version: SCORE_CACHE_VERSION, key, result: { criterion, scores, ranking, seconds, detail } }, replacer);
}

/** The cached result if `stored` is a valid entry for this key, criterion and block count; else null. */
export function decodeEntry(stored: unknown, key: string, expect: { criterion: ScoredCriterion; numLayers: number }): CriterionResult | null {
  if (typeof stored !== 'string') return null;
  let entry: unknown;
  try {
    entry = JSON.parse(stored, reviver);
  } catch {
    return null;
  }
  if (!isRecord(entry) || entry.format !== SCORE_CACHE_FORMAT || entry.version !== SCORE_CACHE_VERSION || entry.key !== key) return null;
  const r = entry.result;
  if (!isRecord(r) || r.criterion !== expect.criterion || !isRecord(r.detail)) return null;
  const L = expect.numLayers;
  const { scores, ranking, seconds } = r;
  if (!Array.isArray(scores) || scores.length !== L || !scores.every((s) => s === null || typeof s === 'number')) return null;
  if (!Array.isArray(ranking) || ranking.length !== L || new Set(ranking).size !== L || !ranking.every((b) => Number.isInteger(b) && b >= 0 && b < L)) return null;
  if (typeof seconds !== 'number' || !(seconds >= 0)) return null;
  return { criterion: expect.criterion, scores, ranking, seconds, detail: r.detail, cached: true };
}

export async function readCachedResult(store: ScoreStore, key: string, expect: { criterion: ScoredCriterion; numLayers: number }): Promise<CriterionResult | null> {
  try {
    return decodeEntry(await store.get(key), key, expect);
  } catch {
    return null;
  }
}

export async function writeCachedResult(store: ScoreStore, key: string, result: CriterionResult): Promise<void> {
  try {
    await store.set(key, encodeEntry(key, result));
  } catch {
    // Quota or a read-only folder: the result is still returned, only not remembered.
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
