/**
 * The lab's engine: one loaded model on one device, and the jobs the UI and the CLI ask of it.
 * It runs inside the Web Worker in the browser and directly in Node; what differs between the
 * two (where checkpoints and texts come from) is injected as an `EngineHost`. Each job is
 * orchestrated in its own module (./jobs/); `handle` checks the plans a request names once and
 * runs it.
 */
import { isCpuAdapter, type GpuContext } from '../gpu/device';
import { GpuRuntime } from '../gpu/runtime';
import { inspectCheckpoint, type CheckpointIndex } from '../io/checkpoint';
import { GpuMemoryError, NonFiniteWeightError } from '../io/errors';
import { loadCheckpoint } from '../io/load';
import type { CheckpointSource } from '../io/source';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer';
import type { CheckpointSink } from '../export/checkpoint';
import { nonFiniteTensors } from '../model/finite-weights';
import { LlamaModel } from '../model/model';
import { validatePlan } from '../model/plan';
import type { QuantDType } from '../gpu/tensor';
import { quantizeTensor } from '../kernels/quantize';
import { describeFormatPlan, memoryPlan, type MemoryPlan } from '../quant/memory-plan';
import { benchmarkJob } from './jobs/benchmark';
import { compareFormatsJob, comparePlanJob } from './jobs/compare-formats';
import { exportCheckpointJob } from './jobs/export-checkpoint';
import { generateJob } from './jobs/generate';
import { healJob } from './jobs/heal';
import type { EventSink, JobContext, LabJob } from './jobs/lab-job';
import { perplexityJob } from './jobs/perplexity';
import { scoreJob } from './jobs/score';
import { tasksJob } from './jobs/tasks';
import { sweepJob } from './jobs/sweep';
import { EMBEDDED_TEXTS } from './embedded';
import { modelInfo } from './model-info';
import type { EngineRequest, JobName, ModelInfo, ModelSourceSpec, ReplyOf, TextSpec, WeightChoice } from './protocol';
import type { ScoreStore } from './score-cache';

export interface EngineHost {
  /** A checkpoint source for a spec (the browser and Node support different kinds). */
  source(spec: ModelSourceSpec): CheckpointSource;
  /** The text of an embedded data file (public/data/<file>). */
  embeddedText(name: 'calibration' | 'heldout'): Promise<string>;
  /** The bytes of a file the app ships under public/data/ (the KJV tasks). */
  embeddedFile(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Where an exported checkpoint's files go. */
  exportSink(): CheckpointSink & { files(): File[] };
  /** Where criterion results are cached; without one every request computes. */
  scoreStore?: ScoreStore;
}

export interface Loaded {
  model: LlamaModel;
  tokenizer: TextTokenizer;
  info: ModelInfo;
  source: CheckpointSource;
  /** The format it was loaded in (the format comparison loads the others beside it). */
  weights: WeightChoice;
  /** Generation shapes already run once (see ./jobs/generate.ts). */
  warmed: Set<string>;
}

/** Every job but cancel, which the host answers (it aborts the job's signal). */
const JOBS: { [K in Exclude<JobName, 'cancel'>]: LabJob<K> } = {
  init: { run: async (lab) => ({ type: 'ready', adapter: lab.rt.ctx.adapter }) },
  load: { run: async (lab, r, ctx) => ({ type: 'loaded', model: await lab.load(r.source, ctx.signal, ctx.progress, r.weights) }) },
  plan: { run: async (lab, r, ctx) => ({ type: 'planned', plan: await lab.plan(r.source, ctx.signal, r) }) },
  score: scoreJob,
  perplexity: perplexityJob,
  generate: generateJob,
  benchmark: benchmarkJob,
  'compare-plan': comparePlanJob,
  'compare-formats': compareFormatsJob,
  'export-checkpoint': exportCheckpointJob,
  tasks: tasksJob,
  heal: healJob,
  sweep: sweepJob,
};

export class LabEngine {
  readonly rt: GpuRuntime;
  private current: Loaded | undefined;

  constructor(gpu: GpuContext, readonly host: EngineHost) {
    this.rt = new GpuRuntime(gpu);
  }

  get model(): LlamaModel | undefined {
    return this.current?.model;
  }

  get tokenizer(): TextTokenizer | undefined {
    return this.current?.tokenizer;
  }

  /** Runs one request; progress and streamed tokens go to the callbacks. */
  async handle<R extends EngineRequest>(request: R, o: Omit<JobContext, 'options'>): Promise<ReplyOf<R['type']>> {
    if (request.type === 'cancel') return { type: 'ok' } as ReplyOf<R['type']>;
    const job = JOBS[request.type as Exclude<JobName, 'cancel'>] as unknown as LabJob<R['type']>;
    const plans = job.plans?.(request);
    if (plans) {
      const { model } = this.loaded();
      for (const plan of plans) validatePlan(plan, model.numLayers);
    }
    const options = { signal: o.signal, onProgress: (done: number, total: number, what: string) => o.progress({ done, total, what }) };
    return job.run(this, request, { ...o, options });
  }

  /** The loaded model and what belongs to it; throws when none is loaded. */
  loaded(): Loaded {
    if (!this.current) throw new Error('no model is loaded');
    return this.current;
  }

  /** The memory plan of the model at `spec` on this device (headers only). */
  async plan(spec: ModelSourceSpec, signal: AbortSignal, o: { context?: number; embeddings?: boolean } = {}): Promise<MemoryPlan> {
    const index = await inspectCheckpoint(this.host.source(spec), signal);
    return memoryPlan(index.config, this.rt.device.limits, o);
  }

  async load(spec: ModelSourceSpec, signal: AbortSignal, progress: EventSink, weights: WeightChoice = { format: 'float' }): Promise<ModelInfo> {
    const source = this.host.source(spec);
    const index = await inspectCheckpoint(source, signal);
    // Refuse up front, with the estimate, what would end in a lost device.
    const planned = memoryPlan(index.config, this.rt.device.limits, { embeddings: weights.embeddings }).formats.find((f) => f.format === weights.format)!;
    if (!planned.fits) throw new GpuMemoryError(`the model does not fit in ${weights.format}: ${describeFormatPlan(planned)}`);
    const tokenizer = await loadTokenizer(source, { config: index.config, signal });
    const model = await this.readModel(index, weights, signal, progress);
    this.current?.model.dispose();
    const info = { ...modelInfo(spec, model.checkpoint, model, tokenizer), weightDtypes: [...new Set(index.planned.map((t) => t.dtype))].sort(), weightFormat: weights.format };
    this.current = { model, tokenizer, info, source, weights, warmed: new Set() };
    return info;
  }

  /**
   * The checkpoint of `index` on the GPU in `weights`, as a model of its own: the loaded one (if any)
   * stays as it is (a load replaces it; the format comparison frees the copy after measuring).
   */
  async readModel(index: CheckpointIndex, weights: WeightChoice, signal: AbortSignal, progress: EventSink): Promise<LlamaModel> {
    // NaN/Inf weights are refused: CPU adapters scan each chunk on the host as it passes (their
    // "GPU" pass would be a slower host pass), GPUs check the uploaded tensors at memory bandwidth.
    const cpu = isCpuAdapter(this.rt.ctx.adapter);
    const ckpt = await loadCheckpoint(this.rt.device, index.source, {
      index, signal, scanNonFinite: cpu,
      ...(weights.format === 'float' ? {} : { quantize: { dtype: weights.format, embeddings: weights.embeddings, run: (t, target) => quantizeTensor(this.rt, t, weights.format as QuantDType, target) } }),
      onProgress: (p) => progress({ done: p.bytesDone, total: p.bytesTotal, what: p.tensor ?? 'done', bytes: { done: p.bytesDone, total: p.bytesTotal, rate: p.rate } }),
    });
    const bad = cpu ? [] : await nonFiniteTensors(this.rt, ckpt.tensors);
    if (bad.length) {
      ckpt.dispose();
      throw new NonFiniteWeightError(bad);
    }
    return new LlamaModel(this.rt, ckpt);
  }

  async text(spec: TextSpec): Promise<{ text: string; name: string }> {
    if (spec.kind === 'inline') return { text: spec.text, name: spec.name };
    return { text: await this.host.embeddedText(spec.name), name: `embedded:${EMBEDDED_TEXTS[spec.name]}` };
  }

  dispose(): void {
    this.current?.model.dispose();
    this.current = undefined;
  }
}
