/**
 * The lab's engine: one loaded model on one device, and the jobs the UI and the CLI ask of it.
 * It runs inside the Web Worker in the browser and directly in Node; what differs between the
 * two (where checkpoints and texts come from) is injected as an `EngineHost`.
 */
import { perplexityOf, evaluationWindows } from '../eval/perplexity';
import { generate } from '../eval/generate';
import { measureSpeeds } from '../eval/speed';
import type { GpuContext } from '../gpu/device';
import { GpuRuntime } from '../gpu/runtime';
import { elementCount } from '../gpu/tensor';
import { inspectCheckpoint } from '../io/checkpoint';
import { describeSource } from '../io/open';
import { loadCheckpoint, type LoadedCheckpoint } from '../io/load';
import type { CheckpointSource } from '../io/source';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer';
import { exportPrunedCheckpoint, type CheckpointSink } from '../export/checkpoint';
import { exportSourceFromIndex } from '../export/source';
import { LlamaModel } from '../model/model';
import { validatePlan } from '../model/plan';
import { blockTensors } from '../model/weights';
import { sampleCalibration, sha256Hex, splitDocuments, type CalibrationSet, type CalibrationSpec } from '../prune/calibration';
import { iterativePpl } from '../prune/iterative-ppl';
import { checkCancelled, type JobOptions } from '../util/job';
import { magnitudeScores } from '../prune/magnitude';
import type { ScoredCriterion } from '../prune/mask';
import { pplScores } from '../prune/ppl-criterion';
import { rankAscending } from '../prune/select';
import { similarityScores } from '../prune/similarity';
import { computeTaylorScores } from '../prune/taylor';
import { runTaskTable } from '../tasks/run-tasks';
import type { CalibrationRequest, CriterionResult, EngineReply, EngineRequest, GenerateRequest, ModelInfo, ModelSourceSpec, TextSpec } from './protocol';
import { criterionSettings, readCachedResult, scoreCacheKey, usesCalibration, writeCachedResult, type ScoreStore } from './score-cache';

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

export const EMBEDDED_TEXTS = { calibration: 'kjv-calib.txt', heldout: 'kjv-heldout.txt' } as const;
export const EMBEDDED_MODEL = 'kjv-tiny-llama';

export type EventSink = (e: { done: number; total: number; what: string; bytes?: { done: number; total: number; rate: number } }) => void;

interface Loaded {
  model: LlamaModel;
  tokenizer: TextTokenizer;
  info: ModelInfo;
  source: CheckpointSource;
  /** Generation shapes already run once (see warmUp). */
  warmed: Set<string>;
}

export class LabEngine {
  readonly rt: GpuRuntime;
  private loaded: Loaded | undefined;

  constructor(gpu: GpuContext, private readonly host: EngineHost) {
    this.rt = new GpuRuntime(gpu);
  }

  get model(): LlamaModel | undefined {
    return this.loaded?.model;
  }

  get tokenizer(): TextTokenizer | undefined {
    return this.loaded?.tokenizer;
  }

  /** Runs one request; progress and streamed tokens go to the callbacks. */
  async handle(request: EngineRequest, o: { signal: AbortSignal; progress: EventSink; token?: (text: string, index: number, elapsedMs: number) => void }): Promise<EngineReply> {
    const job: JobOptions = { signal: o.signal, onProgress: (done, total, what) => o.progress({ done, total, what }) };
    switch (request.type) {
      case 'init':
        return { type: 'ready', adapter: this.rt.ctx.adapter };
      case 'load':
        return { type: 'loaded', model: await this.load(request.source, o.signal, o.progress) };
      case 'score':
        return this.score(request.criteria, request.calibration, job, request.k, request.protect);
      case 'perplexity': {
        const { model, tokenizer } = this.require();
        const { text, name } = await this.text(request.text);
        const stream = tokenizer.encode(text);
        const windows = evaluationWindows(stream, tokenizer.bosId ?? 1, { window: request.window, bos: request.bos, ...(request.maxWindows ? { maxWindows: request.maxWindows } : {}) });
        const results = [];
        for (const [i, plan] of request.plans.entries()) {
          validatePlan(plan, model.numLayers);
          results.push(await perplexityOf(model, windows, plan, { window: request.window }, {
            signal: o.signal,
            onProgress: (done, total) => o.progress({ done: i * total + done, total: request.plans.length * total, what: `plan ${i + 1} of ${request.plans.length}` }),
          }));
        }
        return { type: 'perplexity', results, textSha256: await sha256Hex(text), textName: name };
      }
      case 'generate': {
        const { model, tokenizer } = this.require();
        validatePlan(request.plan, model.numLayers);
        const prompt = tokenizer.encode(request.prompt);
        const warmupMs = await this.warmUp(prompt, request, o.signal);
        const stream = tokenizer.streamDecoder();
        const t0 = performance.now();
        const r = await generate(model, prompt, {
          plan: request.plan, maxNewTokens: request.maxNewTokens, sampling: request.sampling, seed: request.seed, eosIds: tokenizer.eosIds, signal: o.signal,
          onToken: (id, index) => {
            const text = stream.push(id);
            if (text) o.token?.(text, index, performance.now() - t0);
          },
        });
        const tail = stream.flush();
        if (tail) o.token?.(tail, r.ids.length - 1, performance.now() - t0);
        return { type: 'generated', text: stream.text, tokens: r.ids.length, promptTokens: r.promptTokens, prefillMs: r.prefillMs, decodeMs: r.decodeMs, warmupMs, stoppedBy: r.stoppedBy };
      }
      case 'benchmark': {
        const { model } = this.require();
        for (const plan of request.plans) validatePlan(plan, model.numLayers);
        return { type: 'benchmarked', results: await measureSpeeds(model, request.plans, request.options, job) };
      }
      case 'export-checkpoint': {
        const { source, model } = this.require();
        validatePlan(request.kept, model.numLayers);
        const sink = this.host.exportSink();
        await exportPrunedCheckpoint({
          source: await exportSourceFromIndex(await inspectCheckpoint(source, o.signal)),
          sink, kept: request.kept, toF16: request.toF16, ...(request.mask ? { mask: request.mask } : {}), signal: o.signal,
          onProgress: (p: { bytesDone: number; bytesTotal: number }) => o.progress({ done: p.bytesDone, total: p.bytesTotal, what: 'writing' }),
        });
        return { type: 'exported', files: sink.files().map((f) => ({ name: f.name, blob: f })) };
      }
      case 'tasks': {
        const { model, tokenizer } = this.require();
        return { type: 'tasks', table: await runTaskTable(model, tokenizer, request.tasks, request.plans, { embeddedFile: (path, signal) => this.host.embeddedFile(path, signal) }, job) };
      }
      case 'cancel':
        return { type: 'ok' };
    }
  }

  private require(): Loaded {
    if (!this.loaded) throw new Error('no model is loaded');
    return this.loaded;
  }

  async load(spec: ModelSourceSpec, signal: AbortSignal, progress: EventSink): Promise<ModelInfo> {
    const source = this.host.source(spec);
    const index = await inspectCheckpoint(source, signal);
    const tokenizer = await loadTokenizer(source, { config: index.config, signal });
    const ckpt = await loadCheckpoint(this.rt.device, source, {
      index, signal,
      onProgress: (p) => progress({ done: p.bytesDone, total: p.bytesTotal, what: p.tensor ?? 'done', bytes: { done: p.bytesDone, total: p.bytesTotal, rate: p.rate } }),
    });
    this.loaded?.model.dispose();
    const model = new LlamaModel(this.rt, ckpt);
    const info = modelInfo(spec, ckpt, model, tokenizer);
    this.loaded = { model, tokenizer, info, source, warmed: new Set() };
    return info;
  }

  async text(spec: TextSpec): Promise<{ text: string; name: string }> {
    if (spec.kind === 'inline') return { text: spec.text, name: spec.name };
    return { text: await this.host.embeddedText(spec.name), name: `embedded:${EMBEDDED_TEXTS[spec.name]}` };
  }

  /**
   * Scores with each criterion; a result cached for the same model, calibration and settings is
   * returned as it was computed (cached: true). The calibration set is sampled only on a miss.
   */
  async score(criteria: ScoredCriterion[], c: CalibrationRequest, job: JobOptions, k = 4, protect: number[] = []): Promise<EngineReply> {
    const { model, info, tokenizer } = this.require();
    const store = this.host.scoreStore;
    const steps = Math.min(k, model.numLayers - 1);
    const source = criteria.some(usesCalibration) ? await this.text(c.text) : undefined;
    const spec: CalibrationSpec = source
      ? { textSha256: await sha256Hex(source.text), description: source.name, n: c.n, t: c.t, seed: c.seed, bos: c.bos }
      : { textSha256: '', description: 'none (data-free)', n: 0, t: 0, seed: c.seed, bos: c.bos };
    let cal: CalibrationSet | undefined;
    const results: CriterionResult[] = [];
    for (const [i, criterion] of criteria.entries()) {
      const report = (done: number, what: string) => job.onProgress?.(i * 1000 + done, criteria.length * 1000, `${criterion}: ${what}`);
      const key = store ? await scoreCacheKey({ fingerprint: info.fingerprint, calibration: spec, criterion, settings: criterionSettings(criterion, { steps, protect }) }) : '';
      const hit = store ? await readCachedResult(store, key, { criterion, numLayers: model.numLayers }) : null;
      if (hit) {
        results.push(hit);
        report(1000, 'cached');
        continue;
      }
      if (source && usesCalibration(criterion)) {
        cal ??= sampleCalibration(splitDocuments(source.text), { bosId: tokenizer.bosId ?? 1, encode: (t, special) => tokenizer.encode(t, { addSpecialTokens: special }) }, spec);
      }
      const t0 = performance.now();
      const sub: JobOptions = {
        ...(job.signal ? { signal: job.signal } : {}),
        onProgress: (done, total, what) => report(Math.round((done / total) * 1000), what),
      };
      const r = await this.runCriterion(model, criterion, cal, sub, steps, protect);
      const result: CriterionResult = { ...r, criterion, seconds: (performance.now() - t0) / 1000, cached: false };
      results.push(result);
      if (store) await writeCachedResult(store, key, result);
    }
    return { type: 'scored', calibration: spec, results };
  }

  private async runCriterion(model: LlamaModel, criterion: ScoredCriterion, cal: CalibrationSet | undefined, job: JobOptions, steps: number, protect: number[]): Promise<Omit<CriterionResult, 'criterion' | 'seconds'>> {
    const L = model.numLayers;
    const data = () => {
      if (!cal) throw new Error(`${criterion} needs calibration data`);
      return { ids: cal.ids, N: cal.spec.n, T: cal.spec.t };
    };
    switch (criterion) {
      case 'magnitude': {
        const m = await magnitudeScores(model);
        return { scores: m.perBlock, ranking: rankAscending(m.perBlock), detail: { perWeight: m.perWeight } };
      }
      case 'ppl': {
        const { ids, N, T } = data();
        const r = await pplScores(model, ids, N, T, job);
        return { scores: r.scores, ranking: rankAscending(r.scores), detail: { fullPpl: r.basePpl, blockRuns: r.blockRuns, blockRunsWithoutReuse: r.blockRunsWithoutReuse } };
      }
      case 'taylor': {
        const { ids, N, T } = data();
        const r = await computeTaylorScores(model, ids, N, T, job);
        return { scores: r.perBlock, ranking: rankAscending(r.perBlock), detail: { perWeight: r.perWeight, loss: r.loss, peakBytes: r.peakBytes } };
      }
      case 'block-influence':
      case 'angular': {
        const { ids, N, T } = data();
        // Windows of every length, so a contiguous run of any k can be selected by d(l, l+k).
        const r = await similarityScores(model, ids, N, T, { ...job, maxWindow: model.numLayers - 1 });
        if (criterion === 'block-influence') return { scores: r.blockInfluence, ranking: rankAscending(r.blockInfluence), detail: {} };
        // Per block: d(l, l+1), the distance across that single block; windows for n > 1 in detail.
        const single = r.angular[0]!;
        return { scores: single, ranking: rankAscending(single), detail: { windows: r.angular } };
      }
      case 'iterative-ppl': {
        const { ids, N, T } = data();
        const removals = await iterativePpl(model, ids, N, T, steps, { ...job, protect });
        // Score = the step at which a block was removed (first removed = least important); others unscored.
        const scores: (number | null)[] = Array.from({ length: L }, () => null);
        removals.forEach((s, i) => (scores[s.removed] = i));
        const removed = removals.map((s) => s.removed);
        const rest = Array.from({ length: L }, (_, i) => i).filter((i) => !removed.includes(i));
        return { scores, ranking: [...removed, ...rest], detail: { steps: removals } };
      }
    }
  }

  /**
   * The first generation with a prompt length and a kind of token selection compiles its pipelines
   * and touches its buffers: that is done in an untimed two-token run first, so the tokens/s shown
   * side by side compare the models, not the shader compiler. Returns its milliseconds (0 if warm).
   */
  private async warmUp(prompt: number[], request: GenerateRequest, signal: AbortSignal): Promise<number> {
    const { model, warmed } = this.require();
    const s = request.sampling;
    const key = `${prompt.length}:${s.temperature > 0 ? 'sampled' : 'greedy'}:${(s.repetitionPenalty ?? 1) !== 1 ? 'penalty' : ''}`;
    if (warmed.has(key)) return 0;
    const t0 = performance.now();
    model.decoder(prompt.length + request.maxNewTokens); // sized for the real run, so it is not reallocated
    await generate(model, prompt, { plan: request.plan, maxNewTokens: Math.min(2, request.maxNewTokens), sampling: s, seed: request.seed, forceLength: true, signal });
    warmed.add(key);
    checkCancelled(signal); // a cancel during the warm-up ends the job before the timed run
    return performance.now() - t0;
  }

  dispose(): void {
    this.loaded?.model.dispose();
    this.loaded = undefined;
  }
}

function modelInfo(spec: ModelSourceSpec, ckpt: LoadedCheckpoint, model: LlamaModel, tokenizer: TextTokenizer): ModelInfo {
  const c = ckpt.config;
  let parameters = 0;
  for (const t of ckpt.tensors.values()) parameters += elementCount(t.shape);
  const blockParameters = blockTensors(model.weights.blocks[0]!).reduce((s, t) => s + elementCount(t.shape), 0);
  const source = spec.kind === 'folder' ? { kind: 'local' as const, name: baseName(spec.path) } : describeSource(spec);
  return {
    name: source.kind === 'hub' ? source.id : source.name,
    source,
    architecture: c.architecture,
    numLayers: c.numLayers,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    maxPositionEmbeddings: c.maxPositionEmbeddings,
    parameters,
    blockParameters,
    bytesOnGpu: ckpt.bytesOnGpu,
    fingerprint: ckpt.fingerprint,
    fallbacks: ckpt.fallbacks.map((f) => f.tensor),
    bosId: tokenizer.bosId,
    eosIds: tokenizer.eosIds,
  };
}

function baseName(path: string): string {
  return path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || 'model';
}
