/**
 * The pruning mask: which blocks of one model were removed, how they were chosen and what it
 * cost. Format "depth-pruning-lab/mask", versions 1 and 2 (2 = with a healing record), documented in docs/mask-format.md; the JSON
 * Schema is ./mask-schema.json. `buildMask` + `serializeMask` write one, `parseMask` reads one
 * back: strict schema validation (ajv, compiled once), then the rules a schema cannot express,
 * then the loaded model. Every failure is a `MaskError` listing each problem as "path: reason".
 * Parsing is pure: it never touches the caller's state, so a rejected mask changes nothing.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import schema from './mask-schema.json';
import { version as packageVersion } from '../../package.json';
import type { BosMode } from '../eval/perplexity';
import type { CalibrationSpec } from './calibration';
import { criterion as criterionById, CRITERION_IDS, isCriterion, type ScoredCriterion } from './criteria/registry';
import { finiteOrNull, rankBlocks } from './criteria/ranking';
import { expectedFromRanking, followsSelection } from './criteria/selection';

export type { BosMode };

export const MASK_FORMAT = 'depth-pruning-lab/mask';
/** The version of a mask without a healing record (what every earlier reader reads). */
export const MASK_VERSION = 1;
/** The version of a mask with a healing record: the one backward-compatible addition. */
export const MASK_VERSION_HEALED = 2;
const READ_VERSIONS: readonly unknown[] = [MASK_VERSION, MASK_VERSION_HEALED];
/** The lab version written into new masks (package.json). */
export const LAB_VERSION: string = packageVersion;
/** Masks larger than this are refused before parsing (a real one is a few kB). */
export const MAX_MASK_TEXT_LENGTH = 8 * 1024 * 1024;

/** What decided a mask's removed blocks: a registered criterion, or "manual" (picked by hand). */
export type CriterionName = ScoredCriterion | 'manual';
export type ModelSource =
  | { kind: 'hub'; id: string; revision: string }
  | { kind: 'local' | 'embedded'; name: string };

export interface MaskModel {
  source: ModelSource;
  /** config.json architectures[0], e.g. "LlamaForCausalLM". */
  architecture: string;
  num_hidden_layers: number;
  /** Opaque lowercase SHA-256 hex from src/io/fingerprint.ts. */
  fingerprint: string;
}

/** The calibration set as the mask records it (snake_case twin of calibration.ts' CalibrationSpec). */
export interface MaskCalibration {
  /** SHA-256 (hex) of the calibration text, UTF-8. */
  text_sha256: string;
  /** Human description, e.g. "KJV calibration split (public/data/kjv-calib.txt)". No absolute paths. */
  description: string;
  /** N: number of samples. */
  num_samples: number;
  /** T: tokens per sample. */
  seq_len: number;
  seed: number;
  bos: BosMode;
}

export interface CriterionSpec {
  name: CriterionName;
  /** null when no criterion in the mask used data (magnitude, manual). */
  calibration: MaskCalibration | null;
  /** Blocks never removed (the "+" heuristic), sorted ascending. */
  protected_blocks: number[];
  /** The quantized weight format the scores were computed with (src/quant/formats.ts); absent: the weights as stored. */
  weight_format?: 'q8' | 'q4';
}

export interface BeforeAfter {
  before: number | null;
  after: number | null;
}

export interface MaskMetrics {
  perplexity?: {
    protocol: { window: number; bos: BosMode };
    eval_text_sha256: string;
    eval_text_description?: string;
    /** Windows evaluated; fewer than windows_available means a partial measurement (a window limit). */
    windows?: number;
    /** Full windows the evaluation text holds under this protocol. */
    windows_available?: number;
    before: number | null;
    after: number | null;
  };
  speed?: {
    /** GPU adapter description (vendor, architecture, device). */
    adapter: string;
    decode_tokens_per_s: BeforeAfter;
    prefill_tokens_per_s: BeforeAfter;
    prompt_tokens?: number;
    new_tokens?: number;
    batch?: number;
  };
  /** Zero-shot accuracy per task (a fraction), original and pruned. */
  zero_shot?: {
    tasks: { task: string; metric: 'acc' | 'acc_norm'; items: number; before: number | null; after: number | null }[];
  };
  /** The frontier sweep (src/app/sweep.ts): one point per criterion and k. */
  sweep?: {
    protocol: { window: number; bos: BosMode };
    eval_text_sha256: string;
    eval_text_description?: string;
    windows: number;
    points: { criterion: ScoredCriterion; k: number; removed: number[]; ppl: number | null; ideal_speedup: number }[];
  };
}

export type ScoreMap = Partial<Record<ScoredCriterion, (number | null)[]>>;

/** LoRA healing of the pruned model (src/heal/), settings named as PEFT / transformers name them. */
export interface MaskHealing {
  method: 'lora';
  settings: {
    r: number;
    lora_alpha: number;
    lora_dropout: number;
    target_modules: string[];
    learning_rate: number;
    warmup_steps: number;
    max_steps: number;
    per_device_train_batch_size: number;
    gradient_accumulation_steps: number;
    seq_len: number;
    seed: number;
    eval_steps: number;
  };
  /** Optimizer steps taken, and the step whose adapter was kept (0: the pruned model itself). */
  steps: number;
  best_step: number;
  data: { description: string; text_sha256: string; format: 'text' | 'jsonl-text' | 'jsonl-alpaca' | 'jsonl-mixed'; train_sequences: number; heldout_sequences: number };
  heldout: { description: string; before: number | null; after: number | null };
}

export interface PruningMask {
  format: typeof MASK_FORMAT;
  version: typeof MASK_VERSION | typeof MASK_VERSION_HEALED;
  model: MaskModel;
  criterion: CriterionSpec;
  /** Raw per-block scores of every criterion computed (length num_hidden_layers; null = not finite / not computed). */
  scores: ScoreMap;
  /** Block indices, least important first (a permutation of 0..L-1; may be [] for "manual"). */
  ranking: number[];
  /** Removed blocks, original indices, sorted. */
  removed: number[];
  /** Kept blocks, original indices, sorted; kept[j] becomes block j of the pruned model. */
  kept: number[];
  result: { num_hidden_layers: number };
  metrics?: MaskMetrics;
  /** Version 2 only. */
  healing?: MaskHealing;
  lab_version: string;
  /** ISO 8601 date-time. */
  created_at: string;
}

/** One problem in a mask: a JSON pointer ("" = the whole document, shown as "(root)") and why. */
export interface MaskIssue {
  path: string;
  message: string;
}

/** The only error type the mask functions throw. `issues` lists every problem found. */
export class MaskError extends Error {
  readonly issues: readonly MaskIssue[];
  constructor(issues: readonly MaskIssue[], summary = 'invalid pruning mask') {
    const shown = issues.slice(0, 20).map(formatIssue);
    if (issues.length > shown.length) shown.push(`... and ${issues.length - shown.length} more`);
    super(`${summary}:\n${shown.map((line) => `  - ${line}`).join('\n')}`);
    this.name = 'MaskError';
    this.issues = issues;
  }
}

export function formatIssue(issue: MaskIssue): string {
  return `${issue.path || '(root)'}: ${issue.message}`;
}

/** What the loaded model must match. */
export interface ExpectedModel {
  fingerprint?: string;
  numLayers?: number;
  architecture?: string;
}

// ---------------------------------------------------------------------------------------------
// Schema validation (compiled once, lazily).

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strict: true, allowUnionTypes: true });
    addFormats(ajv, ['date-time']);
    compiled = ajv.compile(withRegisteredCriteria(schema));
  }
  return compiled;
}

/**
 * The schema with its criterion enums taken from the registry, so validation knows exactly the
 * registered criteria (tests/unit/criteria.test.ts checks the published schema lists the same).
 */
function withRegisteredCriteria(s: typeof schema): typeof schema {
  const out = structuredClone(s);
  out.$defs.scoredCriterion.enum = [...CRITERION_IDS];
  out.$defs.criterion.properties.name.enum = [...CRITERION_IDS, 'manual'];
  return out;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
  } catch {
    text = typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function ajvIssue(e: ErrorObject): MaskIssue | undefined {
  const path = e.instancePath;
  const p = e.params as Record<string, unknown>;
  const described = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case 'required':
      return { path: `${path}/${String(p.missingProperty)}`, message: 'is missing (required)' };
    case 'additionalProperties':
      return { path: `${path}/${String(p.additionalProperty)}`, message: 'is not a field of the mask format (unknown fields are refused so nothing private can ride along)' };
    case 'propertyNames':
      return undefined; // reported by the enum error on the name itself
    case 'type': {
      const want = String(p.type).split(',').join(' or ');
      return { path, message: `must be ${want}, got ${typeName(e.data)}${typeof e.data === 'number' && !Number.isFinite(e.data) ? ' (not finite)' : ''}` };
    }
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)}, got ${preview(e.data)}` };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      if (e.propertyName !== undefined) return { path: `${path}/${e.propertyName}`, message: `is not a known criterion (one of ${allowed})` };
      return { path, message: `must be one of ${allowed}, got ${preview(e.data)}` };
    }
    case 'pattern':
      return { path, message: `must be ${described ?? `text matching ${String(p.pattern)}`}, got ${preview(e.data)}` };
    case 'format':
      return { path, message: `must be ${described ?? `a valid ${String(p.format)}`}, got ${preview(e.data)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: `must be ${String(p.comparison)} ${String(p.limit)}, got ${preview(e.data)}` };
    case 'minItems':
      return { path, message: `must have at least ${String(p.limit)} item(s), has ${(e.data as unknown[]).length}` };
    case 'maxItems':
      return { path, message: `must have at most ${String(p.limit)} items, has ${(e.data as unknown[]).length}` };
    case 'minLength':
      return { path, message: `must not be empty` };
    case 'maxLength':
      return { path, message: `is too long (at most ${String(p.limit)} characters)` };
    case 'uniqueItems':
      return { path, message: `has a duplicate: items ${String(p.j)} and ${String(p.i)} are both ${preview((e.data as unknown[])[p.i as number])}` };
    case 'discriminator':
      return p.error === 'mapping'
        ? { path: `${path}/kind`, message: `must be "hub", "local" or "embedded", got ${preview((e.data as Record<string, unknown>)?.kind)}` }
        : { path: `${path}/kind`, message: 'must be a string ("hub", "local" or "embedded")' };
    case 'oneOf':
      return e.instancePath.endsWith('/calibration')
        ? undefined // the branch errors (null or the calibration object) say what is wrong
        : { path, message: 'does not match any allowed form' };
    default:
      return { path, message: e.message ?? `fails ${e.keyword}` };
  }
}

function schemaIssues(value: unknown): MaskIssue[] {
  const validate = validator();
  if (validate(value)) return [];
  const issues: MaskIssue[] = [];
  const seen = new Set<string>();
  let calibrationNull = false;
  for (const e of validate.errors ?? []) {
    // calibration is null | object: when the value is an object, the "must be null" branch error is noise.
    if (e.instancePath.endsWith('/criterion/calibration') && e.keyword === 'type' && (e.params as { type?: string }).type === 'null') {
      calibrationNull = true;
      continue;
    }
    const issue = ajvIssue(e);
    if (!issue) continue;
    const key = formatIssue(issue);
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  if (calibrationNull && !issues.some((i) => i.path.startsWith('/criterion/calibration'))) {
    issues.push({ path: '/criterion/calibration', message: 'must be null or a calibration object' });
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Privacy: no local paths, no tokens.

const TOKEN_RE = /(?:^|[^A-Za-z0-9])(?:hf_[A-Za-z0-9]{20,}|api_org_[A-Za-z0-9]{20,})/;
const PATH_START_RE = /^\s*(?:\/|~[\\/]|[A-Za-z]:[\\/]|\\\\|file:)/i;
const PATH_INSIDE_RE = /(?:^|[\s"'`=:(,;[{])(?:\/(?:home|Users|root|mnt|media|tmp|private|Volumes|var|opt|srv|run|data|work|workspace)\/|~\/|[A-Za-z]:\\|\\\\[A-Za-z0-9._-]+\\|file:\/\/)/;

/** Why a string may not appear in a mask, or undefined when it is fine. */
export function privateStringReason(text: string): string | undefined {
  if (TOKEN_RE.test(text)) return 'looks like an access token (hf_...); masks must not carry credentials';
  if (PATH_START_RE.test(text) || PATH_INSIDE_RE.test(text)) return 'looks like an absolute local path; masks must not carry local paths (use a base name)';
  return undefined;
}

function privacyIssues(value: unknown, path: string, out: MaskIssue[]): void {
  if (typeof value === 'string') {
    const reason = privateStringReason(value);
    if (reason) out.push({ path, message: reason });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => privacyIssues(v, `${path}/${i}`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) privacyIssues(v, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules the schema cannot express.

function sortedIssue(list: readonly number[], path: string, out: MaskIssue[]): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i]! <= list[i - 1]!) {
      out.push({ path, message: `must be sorted ascending (item ${i} = ${list[i]} comes after ${list[i - 1]})` });
      return;
    }
  }
}

function rangeIssues(list: readonly number[], path: string, L: number, out: MaskIssue[]): void {
  list.forEach((b, i) => {
    if (b >= L) out.push({ path: `${path}/${i}`, message: `block ${b} does not exist in a model of ${L} blocks (0..${L - 1})` });
  });
}

function semanticIssues(m: PruningMask): MaskIssue[] {
  const out: MaskIssue[] = [];
  const L = m.model.num_hidden_layers;
  rangeIssues(m.removed, '/removed', L, out);
  rangeIssues(m.kept, '/kept', L, out);
  rangeIssues(m.ranking, '/ranking', L, out);
  rangeIssues(m.criterion.protected_blocks, '/criterion/protected_blocks', L, out);
  sortedIssue(m.removed, '/removed', out);
  sortedIssue(m.kept, '/kept', out);
  sortedIssue(m.criterion.protected_blocks, '/criterion/protected_blocks', out);

  const removed = new Set(m.removed);
  const kept = new Set(m.kept);
  for (const b of m.removed) if (kept.has(b)) out.push({ path: '/kept', message: `block ${b} is both removed and kept` });
  const missing: number[] = [];
  for (let b = 0; b < L; b++) if (!removed.has(b) && !kept.has(b)) missing.push(b);
  if (missing.length) out.push({ path: '/kept', message: `block(s) ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''} are neither kept nor removed (kept and removed must together list 0..${L - 1})` });
  if (m.result.num_hidden_layers !== m.kept.length) {
    out.push({ path: '/result/num_hidden_layers', message: `must equal the number of kept blocks (${m.kept.length}), got ${m.result.num_hidden_layers}` });
  }
  for (const b of m.criterion.protected_blocks) {
    if (removed.has(b)) out.push({ path: '/removed', message: `block ${b} is protected (criterion.protected_blocks) but removed` });
  }

  if (m.healing && m.healing.best_step > m.healing.steps) {
    out.push({ path: '/healing/best_step', message: `is past the ${m.healing.steps} steps taken` });
  }
  for (const [name, values] of Object.entries(m.scores)) {
    if (values && values.length !== L) out.push({ path: `/scores/${name}`, message: `must have one score per block (${L}), has ${values.length}` });
  }
  const c = m.criterion.name;
  const named = c === 'manual' ? undefined : criterionById(c);
  if (c !== 'manual' && !m.scores[c]) out.push({ path: `/scores/${c}`, message: `is missing: the scores of the chosen criterion "${c}" must be included` });

  if (m.ranking.length === 0) {
    if (c !== 'manual') out.push({ path: '/ranking', message: `must rank all ${L} blocks (it may be empty only for the "manual" criterion)` });
  } else if (m.ranking.length !== L) {
    out.push({ path: '/ranking', message: `must list every block exactly once (${L}), has ${m.ranking.length}` });
  } else if (named?.selection === 'ranked' && out.length === 0 && !followsSelection(named, m.removed, m.ranking, m.criterion.protected_blocks, L)) {
    // Removal follows the ranking: the k least important blocks that are not protected.
    const expected = expectedFromRanking(m.ranking, m.criterion.protected_blocks, m.removed.length);
    out.push({ path: '/removed', message: `does not follow the ranking of "${c}": the ${m.removed.length} least important unprotected blocks are [${expected.join(', ')}] (use criterion "manual" for a hand-picked set)` });
  }
  const own = c === 'manual' ? undefined : m.scores[c];
  if (named?.rankedByScore && own && own.length === L && m.ranking.length === L) {
    // The ranking is the scores in ascending order (ties in any order, null last).
    const key = (b: number) => own[b] ?? Infinity;
    for (let i = 1; i < L; i++) {
      const a = m.ranking[i - 1]!;
      const b = m.ranking[i]!;
      if (key(b) < key(a)) {
        out.push({ path: '/ranking', message: `does not follow /scores/${c} (ascending): block ${a} (score ${own[a] ?? 'null'}) is ranked before block ${b} (score ${own[b] ?? 'null'})` });
        break;
      }
    }
  }
  if (named?.selection === 'contiguous' && !followsSelection(named, m.removed, m.ranking, m.criterion.protected_blocks, L)) {
    out.push({ path: '/removed', message: `must be one contiguous run of blocks for the "${c}" criterion` });
  }

  const usesData = [c, ...Object.keys(m.scores)].some((n) => isCriterion(n) && criterionById(n).needsData);
  if (usesData && m.criterion.calibration === null) {
    out.push({ path: '/criterion/calibration', message: 'is null, but a criterion that reads calibration data was used (only magnitude and manual need none)' });
  }

  privacyIssues(m, '', out);
  return out;
}

/** Checks a mask against the model it is applied to. */
export function modelIssues(m: PruningMask, expected: ExpectedModel): MaskIssue[] {
  const out: MaskIssue[] = [];
  if (expected.numLayers !== undefined && expected.numLayers !== m.model.num_hidden_layers) {
    out.push({ path: '/model/num_hidden_layers', message: `the mask is for a model with ${m.model.num_hidden_layers} blocks, the loaded model has ${expected.numLayers}` });
  }
  if (expected.architecture !== undefined && expected.architecture !== m.model.architecture) {
    out.push({ path: '/model/architecture', message: `the mask is for ${m.model.architecture}, the loaded model is ${expected.architecture}` });
  }
  if (expected.fingerprint !== undefined && expected.fingerprint.toLowerCase() !== m.model.fingerprint) {
    out.push({ path: '/model/fingerprint', message: `the mask was made for another checkpoint (fingerprint ${m.model.fingerprint.slice(0, 12)}..., the loaded model's is ${expected.fingerprint.slice(0, 12)}...)` });
  }
  return out;
}

/** Every problem with a parsed JSON value as a mask (empty = valid). Never throws. */
export function validateMask(value: unknown): MaskIssue[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ path: '', message: `a mask must be a JSON object, got ${typeName(value)}` }];
  }
  const v = value as Record<string, unknown>;
  if (v.format !== MASK_FORMAT) {
    return [{ path: '/format', message: `this is not a depth-pruning-lab mask (format must be "${MASK_FORMAT}", got ${v.format === undefined ? 'nothing' : preview(v.format)})` }];
  }
  if (!READ_VERSIONS.includes(v.version)) {
    return [{ path: '/version', message: `unsupported mask version ${preview(v.version)} (this lab reads versions ${READ_VERSIONS.join(' and ')})` }];
  }
  const issues = schemaIssues(value);
  if (issues.length) return issues;
  return semanticIssues(value as unknown as PruningMask);
}

/**
 * Parses and validates a mask file's text. Throws `MaskError` (and nothing else) listing every
 * problem: not JSON, schema violations, broken semantics, or (with `expected`) a different model.
 */
export function parseMask(jsonText: string, expected?: ExpectedModel): PruningMask {
  if (typeof jsonText !== 'string') throw new MaskError([{ path: '', message: `mask text must be a string, got ${typeName(jsonText)}` }], 'cannot read pruning mask');
  if (jsonText.length > MAX_MASK_TEXT_LENGTH) {
    throw new MaskError([{ path: '', message: `the file is ${jsonText.length} characters long; a mask is at most ${MAX_MASK_TEXT_LENGTH}` }], 'cannot read pruning mask');
  }
  let value: unknown;
  try {
    value = JSON.parse(jsonText);
  } catch (err) {
    throw new MaskError([{ path: '', message: `not valid JSON (${err instanceof Error ? err.message : String(err)})` }], 'cannot read pruning mask');
  }
  const issues = validateMask(value);
  if (issues.length) throw new MaskError(issues);
  const mask = value as PruningMask;
  if (expected) {
    const mismatch = modelIssues(mask, expected);
    if (mismatch.length) throw new MaskError(mismatch, 'the pruning mask does not fit the loaded model');
  }
  return mask;
}

// ---------------------------------------------------------------------------------------------
// Building and writing.

/** The mask's form of a calibration spec from src/prune/calibration.ts. */
export function maskCalibration(spec: CalibrationSpec | MaskCalibration): MaskCalibration {
  if ('text_sha256' in spec) return { ...spec };
  return { text_sha256: spec.textSha256, description: spec.description, num_samples: spec.n, seq_len: spec.t, seed: spec.seed, bos: spec.bos };
}

export interface BuildMaskInput {
  model: MaskModel;
  criterion: { name: CriterionName; calibration?: MaskCalibration | CalibrationSpec | null; protected_blocks?: readonly number[]; weight_format?: string };
  /** Raw scores per criterion computed; NaN/Infinity are written as null (JSON has no such numbers). */
  scores?: Partial<Record<ScoredCriterion, readonly (number | null)[] | Float32Array | Float64Array>>;
  /** Least important first; default: `rankBlocks(scores[criterion.name])`, or [] for "manual". */
  ranking?: readonly number[];
  removed: readonly number[];
  metrics?: MaskMetrics;
  labVersion?: string;
  createdAt?: Date | string;
}

/** Assembles a mask (kept, result and defaults derived) and validates it; throws `MaskError`. */
export function buildMask(input: BuildMaskInput): PruningMask {
  const L = input.model.num_hidden_layers;
  const scores: ScoreMap = {};
  for (const [name, values] of Object.entries(input.scores ?? {})) {
    if (!values) continue;
    scores[name as ScoredCriterion] = Array.from(values as ArrayLike<number | null>, finiteOrNull);
  }
  const name = input.criterion.name;
  const own = name === 'manual' ? undefined : scores[name];
  const ranking = input.ranking ? [...input.ranking] : own ? rankBlocks(own) : [];
  const removed = [...new Set(input.removed)].sort((a, b) => a - b);
  const removedSet = new Set(removed);
  const kept: number[] = [];
  for (let b = 0; b < L; b++) if (!removedSet.has(b)) kept.push(b);
  const created = input.createdAt ?? new Date();
  const mask: PruningMask = {
    format: MASK_FORMAT,
    version: MASK_VERSION,
    model: { ...input.model, source: { ...input.model.source } },
    criterion: {
      name,
      calibration: input.criterion.calibration ? maskCalibration(input.criterion.calibration) : null,
      protected_blocks: [...new Set(input.criterion.protected_blocks ?? [])].sort((a, b) => a - b),
      // Only quantized formats are recorded, so masks of models as stored read as before.
      ...(input.criterion.weight_format === 'q8' || input.criterion.weight_format === 'q4' ? { weight_format: input.criterion.weight_format } : {}),
    },
    scores,
    ranking,
    removed,
    kept,
    result: { num_hidden_layers: kept.length },
    ...(input.metrics ? { metrics: structuredClone(input.metrics) } : {}),
    lab_version: input.labVersion ?? LAB_VERSION,
    created_at: typeof created === 'string' ? created : created.toISOString(),
  };
  const issues = validateMask(mask);
  if (issues.length) throw new MaskError(issues, 'cannot build pruning mask');
  return mask;
}

/**
 * The mask with a healing record (version 2; the record's null-able PPLs from non-finite values).
 * Its place in the canonical key order: after metrics.
 */
export function withHealing(mask: PruningMask, healing: MaskHealing): PruningMask {
  const { lab_version, created_at, healing: _old, ...rest } = mask;
  const h = structuredClone(healing);
  h.heldout.before = finiteOrNull(h.heldout.before);
  h.heldout.after = finiteOrNull(h.heldout.after);
  const out: PruningMask = { ...rest, version: MASK_VERSION_HEALED, healing: h, lab_version, created_at };
  const issues = validateMask(out);
  if (issues.length) throw new MaskError(issues, 'cannot record the healing in the pruning mask');
  return out;
}

/** Canonical text of a mask: 2-space indentation, number arrays on one line. Validates first. */
export function serializeMask(mask: PruningMask): string {
  const issues = validateMask(mask);
  if (issues.length) throw new MaskError(issues, 'refusing to write an invalid pruning mask');
  return `${pretty(mask, '')}\n`;
}

function pretty(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + pretty(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}
