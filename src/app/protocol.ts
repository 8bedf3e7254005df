/**
 * The one message protocol between the UI thread and the engine (a Web Worker in the browser;
 * called directly in Node by the CLI and tests). Only plain data crosses it: numbers, strings,
 * arrays, Files and Blobs - never GPU objects.
 */
import type { AdapterSummary } from '../gpu/device';
import type { SpeedOptions, SpeedResult } from '../eval/speed';
import type { SourceRecord, SourceSpec } from '../io/open';
import type { PerplexityResult } from '../eval/perplexity';
import type { SamplingOptions } from '../kernels/sampling';
import type { BosMode } from '../eval/perplexity';
import type { CalibrationSpec } from '../prune/calibration';
import type { PruningMask, ScoredCriterion } from '../prune/mask';
import type { TaskSpec } from '../tasks/task-data';
import type { PlanSpec, TaskTable } from '../tasks/results';

/**
 * Where a checkpoint comes from: the io layer's sources (embedded, Hub, picked files) or, in
 * Node only, a folder path. A Hub token stays in the engine's memory only.
 */
export type ModelSourceSpec = SourceSpec | { kind: 'folder'; path: string };

/** A text for calibration or evaluation: the embedded one, or one the user pasted/uploaded. */
export type TextSpec = { kind: 'embedded'; name: 'calibration' | 'heldout' } | { kind: 'inline'; name: string; text: string };

export interface ModelInfo {
  name: string;
  source: SourceRecord;
  architecture: string;
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  /** Parameters in total and in each block (all blocks have the same shape). */
  parameters: number;
  blockParameters: number;
  bytesOnGpu: number;
  fingerprint: string;
  /** Tensors stored in f32 because their BF16 values overflow f16. */
  fallbacks: string[];
  bosId: number | null;
  eosIds: number[];
}

export interface CalibrationRequest {
  text: TextSpec;
  n: number;
  t: number;
  seed: number;
  bos: BosMode;
}

/** One criterion's result. Lower score = less important = removed first. */
export interface CriterionResult {
  criterion: ScoredCriterion;
  /** Per block (original index); null where a criterion gives a block no score. */
  scores: (number | null)[];
  /** Block indices, least important first (the order selection uses). */
  ranking: number[];
  /** Compute time; for a cached result, the time it took when it was computed. */
  seconds: number;
  /** True when the result came from the score cache (the engine always sets it). */
  cached?: boolean;
  /** Criterion-specific figures (e.g. PPL of the full model, per-weight scores, angular windows). */
  detail: Record<string, unknown>;
}

export interface GenerateRequest {
  type: 'generate';
  prompt: string;
  plan: number[];
  maxNewTokens: number;
  sampling: SamplingOptions;
  seed: number;
}

export type EngineRequest =
  | { type: 'init' }
  | { type: 'load'; source: ModelSourceSpec }
  | { type: 'score'; criteria: ScoredCriterion[]; calibration: CalibrationRequest; k?: number; protect?: number[] }
  | { type: 'perplexity'; text: TextSpec; window: number; bos: BosMode; plans: number[][]; maxWindows?: number }
  | GenerateRequest
  | { type: 'benchmark'; plans: number[][]; options: SpeedOptions }
  | { type: 'export-checkpoint'; kept: number[]; toF16: boolean; /** Written as pruning_mask.json beside the weights (its kept blocks must equal `kept`). */ mask?: PruningMask }
  /** Zero-shot tasks (src/tasks/registry.ts) on each plan; the first plan is the reference (the original). */
  | { type: 'tasks'; tasks: TaskSpec[]; plans: PlanSpec[] }
  | { type: 'cancel'; job: number };

export type EngineReply =
  | { type: 'ready'; adapter: AdapterSummary }
  | { type: 'loaded'; model: ModelInfo }
  | { type: 'scored'; calibration: CalibrationSpec; results: CriterionResult[] }
  | { type: 'perplexity'; results: PerplexityResult[]; textSha256: string; textName: string }
  /** warmupMs: the untimed run that compiled this prompt length's pipelines first (0 when already warm). */
  | { type: 'generated'; text: string; tokens: number; promptTokens: number; prefillMs: number; decodeMs: number; warmupMs: number; stoppedBy: string }
  | { type: 'benchmarked'; results: SpeedResult[] }
  | { type: 'exported'; files: { name: string; blob: Blob }[] }
  | { type: 'tasks'; table: TaskTable }
  | { type: 'cancelled' }
  | { type: 'ok' }
  | { type: 'error'; message: string; kind: string };

export type EngineEvent =
  | { type: 'progress'; job: number; done: number; total: number; what: string; bytes?: { done: number; total: number; rate: number } }
  | { type: 'token'; job: number; text: string; index: number; elapsedMs: number }
  | { type: 'device-lost'; message: string };

/** Every request carries an id (the job id for cancel and progress); the reply echoes it. */
export type RequestEnvelope = { id: number; request: EngineRequest };
export type ReplyEnvelope = { id: number; reply: EngineReply } | { id: 0; event: EngineEvent };
