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
import type { HealSettings, HeldoutEvaluation } from '../heal/run';
import type { HealDataDescription } from '../heal/data';
import type { AdapterValues } from '../heal/peft';
import type { TrainerState } from '../heal/train';
import type { CalibrationSpec } from '../prune/calibration';
import type { ScoredCriterion } from '../prune/criteria/registry';
import type { PruningMask } from '../prune/mask';
import type { TaskSpec } from '../tasks/task-data';
import type { PlanSpec, TaskTable } from '../tasks/results';
import type { SweepCriterion, SweepResult } from './sweep';
import type { WeightFormat } from '../quant/formats';
import type { ComparisonFit, MemoryPlan } from '../quant/memory-plan';
import type { FormatComparison } from '../eval/format-comparison';

/**
 * Where a checkpoint comes from: the io layer's sources (embedded, Hub, picked files) or, in
 * Node only, a folder path. A Hub token stays in the engine's memory only.
 */
export type ModelSourceSpec = SourceSpec | { kind: 'folder'; path: string };

/** A text for calibration or evaluation: the embedded one, or one the user pasted/uploaded. */
export type TextSpec = { kind: 'embedded'; name: 'calibration' | 'heldout' } | { kind: 'inline'; name: string; text: string };

/** The weight format to load in, and whether the embedding and LM head are quantized too (default: no). */
export interface WeightChoice {
  format: WeightFormat;
  embeddings?: boolean;
}

export interface ModelInfo {
  name: string;
  source: SourceRecord;
  architecture: string;
  /** The model family (src/io/families.ts) and what it changes from LLaMA; absent in older saved state. */
  family?: string;
  familyDifferences?: string[];
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
  /** The checkpoint's weight dtypes as stored in its files (e.g. ["F16"]); absent in older saved state. */
  weightDtypes?: string[];
  /** Tensors stored in f32 because their BF16 values overflow f16. */
  fallbacks: string[];
  /** How the weights are held on the GPU (src/quant/formats.ts); absent in older saved state (= 'float'). */
  weightFormat?: WeightFormat;
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

/**
 * Trained LoRA adapters as plain data (A [r, in], B [out, r] per kept block and target), for running
 * the pruned model with them unmerged. `key` names these values: the engine keeps the last set on the
 * GPU and uploads again only for another key.
 */
export interface LoraWeights {
  key: string;
  plan: number[];
  r: number;
  alpha: number;
  adapters: AdapterValues[];
}

/** The jobs the engine runs: each one's request and its reply. */
export interface Jobs {
  init: { request: { type: 'init' }; reply: { type: 'ready'; adapter: AdapterSummary } };
  /** weights: the weight format (default 'float', as stored); a load whose memory plan does not fit is refused. */
  load: { request: { type: 'load'; source: ModelSourceSpec; weights?: WeightChoice }; reply: { type: 'loaded'; model: ModelInfo } };
  /** The memory plan of a model (config.json and headers only) on this adapter, before loading it. */
  plan: { request: { type: 'plan'; source: ModelSourceSpec; context?: number; embeddings?: boolean }; reply: { type: 'planned'; plan: MemoryPlan } };
  /** k and protect matter only to criteria whose result depends on them (iterative PPL). */
  score: {
    request: { type: 'score'; criteria: ScoredCriterion[]; calibration: CalibrationRequest; k?: number; protect?: number[] };
    reply: { type: 'scored'; calibration: CalibrationSpec; results: CriterionResult[] };
  };
  /** healed: also the adapters' plan with them (unmerged, no dropout), as `healed` in the reply. */
  perplexity: {
    request: { type: 'perplexity'; text: TextSpec; window: number; bos: BosMode; plans: number[][]; maxWindows?: number; healed?: LoraWeights };
    reply: { type: 'perplexity'; results: PerplexityResult[]; textSha256: string; textName: string; healed?: PerplexityResult };
  };
  generate: {
    /** adapter: generate with LoRA adapters (unmerged) on `plan`, which must be the adapters' plan. */
    request: { type: 'generate'; prompt: string; plan: number[]; maxNewTokens: number; sampling: SamplingOptions; seed: number; adapter?: LoraWeights };
    /** warmupMs: the untimed run that compiled this prompt length's pipelines first (0 when already warm). */
    reply: { type: 'generated'; text: string; tokens: number; promptTokens: number; prefillMs: number; decodeMs: number; warmupMs: number; stoppedBy: string };
  };
  /** healed: also the adapters' plan with them merged (same shapes: the pruned speed) and unmerged, results after the plans'. */
  benchmark: { request: { type: 'benchmark'; plans: number[][]; options: SpeedOptions; healed?: LoraWeights }; reply: { type: 'benchmarked'; results: SpeedResult[] } };
  /** Which weight formats a comparison with these speed options can load beside the loaded model (src/quant/memory-plan.ts). */
  'compare-plan': { request: { type: 'compare-plan'; options: SpeedOptions }; reply: { type: 'compare-planned'; fits: ComparisonFit[] } };
  /** The plans' speed in each format: the loaded model in its own, a copy loaded, measured and freed per other format. */
  'compare-formats': { request: { type: 'compare-formats'; formats: WeightFormat[]; plans: number[][]; options: SpeedOptions }; reply: { type: 'compared'; comparison: FormatComparison } };
  'export-checkpoint': {
    /** mask: written as pruning_mask.json beside the weights (its kept blocks must equal `kept`). */
    request: { type: 'export-checkpoint'; kept: number[]; toF16: boolean; mask?: PruningMask };
    reply: { type: 'exported'; files: { name: string; blob: Blob }[] };
  };
  /** Zero-shot tasks (src/tasks/registry.ts) on each plan; the first plan is the reference (the original). */
  tasks: { request: { type: 'tasks'; tasks: TaskSpec[]; plans: PlanSpec[] }; reply: { type: 'tasks'; table: TaskTable } };
  /** LoRA healing of `plan` on `text` (src/heal/run.ts); the adapter as a PEFT folder's two files. */
  heal: {
    /** heldout: perplexity of its first heldoutWindows windows (default 32) before and after healing. */
    /**
     * resume: a state from this run's 'heal-state' events (same plan, text and settings): training continues from it.
     * epochs: when given, the optimizer steps are this many passes over the text's windows (settings.steps is ignored).
     */
    request: { type: 'heal'; plan: number[]; text: TextSpec; settings: HealSettings; heldout?: TextSpec; heldoutWindows?: number; resume?: TrainerState; epochs?: number };
    reply: {
      /** steps: the run's optimizer steps in all (with epochs: as computed from the data). */
      type: 'healed'; losses: number[]; steps: number; tokensPerS: number; windows: number; textSha256: string; textName: string;
      /** after: the PPL of the returned adapter, the one with the lowest held-out loss (evaluated at bestStep). */
      heldout?: { before: number; after: number; windows: number; bestStep: number };
      /** Every held-out evaluation (step 0: before training, then every evalEvery steps of this run); the data as used; seconds in optimizer steps. */
      evaluations: HeldoutEvaluation[]; data: HealDataDescription; trainSeconds: number;
      /** A non-finite loss ended the run after `step` optimizer steps; the adapter is the best of those (HealResult.stopped). */
      stopped?: { step: number; message: string };
      adapterConfig: string; adapterSafetensors: Uint8Array;
    };
  };
  cancel: { request: { type: 'cancel'; job: number }; reply: { type: 'ok' } };
  /** known: plans already evaluated on the same text, window, BOS mode and windows (kept blocks and result), reused, not evaluated again. */
  sweep: {
    request: {
      type: 'sweep'; criteria: SweepCriterion[]; protect: number[]; maxK?: number;
      text: TextSpec; window: number; bos: BosMode; maxWindows?: number; known?: { kept: number[]; result: PerplexityResult }[];
    };
    reply: { type: 'swept'; sweep: SweepResult };
  };
}

export type JobName = keyof Jobs;
export type RequestOf<K extends JobName> = Jobs[K]['request'];
export type ReplyOf<K extends JobName> = Jobs[K]['reply'];
/** A request without its tag: what the client's typed methods take. */
export type ArgsOf<K extends JobName> = Omit<RequestOf<K>, 'type'>;

export type GenerateRequest = RequestOf<'generate'>;
export type EngineRequest = { [K in JobName]: RequestOf<K> }[JobName];
export type EngineReply = { [K in JobName]: ReplyOf<K> }[JobName] | { type: 'cancelled' } | { type: 'error'; message: string; kind: string };

/** The reply tag each job answers with (the client checks it). */
export const REPLY_TYPE: { [K in JobName]: ReplyOf<K>['type'] } = {
  init: 'ready',
  load: 'loaded',
  plan: 'planned',
  score: 'scored',
  perplexity: 'perplexity',
  generate: 'generated',
  benchmark: 'benchmarked',
  'compare-plan': 'compare-planned',
  'compare-formats': 'compared',
  'export-checkpoint': 'exported',
  tasks: 'tasks',
  heal: 'healed',
  cancel: 'ok',
  sweep: 'swept',
};

export type EngineEvent =
  | { type: 'progress'; job: number; done: number; total: number; what: string; bytes?: { done: number; total: number; rate: number } }
  | { type: 'token'; job: number; text: string; index: number; elapsedMs: number }
  /** A heal job's trainer state after each optimizer step (what a pause, cancel or reload resumes from). */
  | { type: 'heal-state'; job: number; state: TrainerState; loss: number }
  | { type: 'device-lost'; message: string };

/** Every request carries an id (the job id for cancel and progress); the reply echoes it. */
export type RequestEnvelope = { id: number; request: EngineRequest };
export type ReplyEnvelope = { id: number; reply: EngineReply } | { id: 0; event: EngineEvent };
