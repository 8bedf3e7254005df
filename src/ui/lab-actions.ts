/**
 * The page's single engine worker and the actions that drive it and update the store. The
 * worker runs one job at a time; every action here starts one job, routes its progress events
 * to the store under a job key, and can be cancelled by that key.
 */
import { EngineClient, EngineError, type Job } from '../browser/worker-client';
import type { JobName, LoraWeights, ModelSourceSpec, TextSpec, WeightChoice } from '../app/protocol';
import type { MemoryPlan } from '../quant/memory-plan';
import { criterion } from '../prune/criteria/registry';
import { EMBEDDED_MODEL } from '../app/embedded';
import type { TrainerState } from '../heal/train';
import { healedWeights } from './heal-actions';
import { currentRecord, keptBlocks, kFor, planKey, protectedBlocks, selectByCriterion, settledRecords, stillLoaded, useLab, type JobKey, type PaneState, type SourceChoice, type TextChoice } from './store';

let client: EngineClient | undefined;
/** Which job key each running job id belongs to (for progress events). */
const running = new Map<number, JobKey>();
/** Token listeners of running generate jobs. */
const tokenSinks = new Map<number, (text: string, index: number, elapsedMs: number) => void>();
/** Trainer-state listeners of running heal jobs (./heal-actions.ts). */
const healSinks = new Map<number, (state: TrainerState, loss: number) => void>();

/** Routes a heal job's 'heal-state' events to `sink` until the job ends. */
export function onHealState(job: number, sink: (state: TrainerState, loss: number) => void): void {
  healSinks.set(job, sink);
}

/** The page's engine client (started on first use). */
export function engine(): EngineClient {
  if (!client) {
    client = new EngineClient();
    client.onEvent((e) => {
      const s = useLab.getState();
      if (e.type === 'device-lost') {
        // The model went with the device: show why, keep every computed result.
        s.setGpu({ state: 'lost', message: e.message });
        useLab.setState({ model: null, records: settledRecords(s.records), loadError: 'The GPU device was lost; the model must be loaded again (Try again in the GPU panel).' });
      }
      else if (e.type === 'progress') {
        const key = running.get(e.job);
        const job = key && s.jobs[key];
        if (key && job && job.id === e.job) s.setJob(key, { ...job, done: e.done, total: e.total, what: e.what, ...(e.bytes ? { bytes: e.bytes } : {}) });
      } else if (e.type === 'token') tokenSinks.get(e.job)?.(e.text, e.index, e.elapsedMs);
      else if (e.type === 'heal-state') healSinks.get(e.job)?.(e.state, e.loss);
    });
  }
  return client;
}

export const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
export const cancelled = (err: unknown) => err instanceof EngineError && err.kind === 'cancelled';

/** Runs one engine job under a key: progress to the store, errors to the key's error slot. */
export async function run<K extends JobName>(key: JobKey, start: (client: EngineClient) => Job<K>, what = 'starting') {
  const s = useLab.getState();
  s.setError(key, undefined);
  const job = start(engine());
  running.set(job.id, key);
  s.setJob(key, { id: job.id, done: 0, total: 0, what, startedAt: Date.now() });
  try {
    return await job.result;
  } finally {
    running.delete(job.id);
    healSinks.delete(job.id);
    if (useLab.getState().jobs[key]?.id === job.id) useLab.getState().setJob(key, undefined);
  }
}

/** Cancels the job running under a key (if any). */
export function cancelJob(key: JobKey): void {
  const job = useLab.getState().jobs[key];
  if (job) engine().cancel(job.id);
}

/** Acquires (or re-acquires after a loss) the GPU in the worker. */
export async function startGpu(): Promise<void> {
  const { setGpu } = useLab.getState();
  setGpu({ state: 'starting' });
  try {
    const { adapter } = await engine().init();
    setGpu({ state: 'ready', adapter });
  } catch (err) {
    setGpu({ state: 'unavailable', message: message(err) });
  }
}

/** Re-acquires the GPU (after a loss or a failure) and reloads the remembered model source. */
export async function restartGpu(): Promise<void> {
  await startGpu();
  const s = useLab.getState();
  if (s.gpu.state !== 'ready' || s.model) return;
  // Picked files cannot be reopened without the user: ask, rather than load another model in their place.
  if (s.source.kind === 'local') s.setLoadError(`The GPU is back. Pick the folder of ${s.source.name} again to reload it (its scores and plan are kept).`);
  else await loadRememberedModel();
}

/** The remembered source: a Hub model (from the browser cache; a private one needs its token again), else the embedded one (picked files cannot be reopened without the user). */
export function loadRememberedModel(): Promise<boolean> {
  const source = useLab.getState().source;
  return loadModel(source.kind === 'hub' ? source : embeddedSpec());
}

/** Loads a model; on failure the previous model stays and the error is shown. */
export async function loadModel(spec: ModelSourceSpec, weights?: WeightChoice): Promise<boolean> {
  const s = useLab.getState();
  s.setLoadError(null);
  try {
    const { model } = await run('load', (c) => c.load(spec, weights), 'reading the checkpoint index');
    const choice: SourceChoice = spec.kind === 'hub' ? { kind: 'hub', id: spec.id, revision: spec.revision ?? 'main', ...(spec.host ? { host: spec.host } : {}) } : spec.kind === 'local' ? { kind: 'local', name: spec.name ?? 'local model' } : { kind: 'embedded' };
    useLab.setState({ model, loadError: null, source: choice });
    return true;
  } catch (err) {
    const name = spec.kind === 'hub' ? spec.id : spec.kind === 'local' ? (spec.name ?? 'the local folder') : spec.kind === 'embedded' ? spec.name : spec.path;
    const kept = useLab.getState().model ? ' The previous model stays loaded.' : '';
    useLab.getState().setLoadError(cancelled(err) ? `Loading ${name} was cancelled.${kept}` : `Could not load ${name}: ${message(err).replace(/[.\s]*$/, '.')}${kept}`);
    return false;
  }
}

/** The memory plan of a model before loading it (its headers only); null when it cannot be read. */
export async function planModel(spec: ModelSourceSpec, o: { context?: number; embeddings?: boolean } = {}): Promise<MemoryPlan | null> {
  useLab.getState().setLoadError(null);
  try {
    return (await run('load', (c) => c.plan({ source: spec, ...o }), 'reading config.json for the memory plan')).plan;
  } catch (err) {
    useLab.getState().setLoadError(`Could not plan the memory: ${message(err)}`);
    return null;
  }
}

export const embeddedSpec = (): ModelSourceSpec => ({ kind: 'embedded', name: EMBEDDED_MODEL });

export function textSpec(choice: TextChoice, embedded: 'calibration' | 'heldout'): TextSpec {
  return choice.kind === 'embedded' ? { kind: 'embedded', name: embedded } : { kind: 'inline', name: choice.name, text: choice.text };
}

/** Scores the blocks with the chosen criteria on the chosen calibration set. */
export async function runScoring(): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const st = s.settings;
  const L = model.numLayers;
  try {
    const reply = await run('score', (c) => c.score({
      criteria: st.criteria,
      calibration: { text: textSpec(st.calibration, 'calibration'), n: st.n, t: st.t, seed: st.seed, bos: st.bos },
      k: Math.max(1, kFor(st, L)),
      protect: protectedBlocks(st.protectText, L),
    }));
    if (!stillLoaded(model)) return;
    useLab.getState().mergeScores(st.criteria.some((c) => criterion(c).needsData) ? reply.calibration : null, reply.results);
  } catch (err) {
    if (!cancelled(err)) useLab.getState().setError('score', message(err));
  }
}

/** PPL of the full model and of the current plan (plans already measured with this protocol are reused). */
export async function runPerplexity(): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const st = s.settings;
  const rec = currentRecord(s);
  const full = keptBlocks(model.numLayers, []);
  const current = keptBlocks(model.numLayers, rec.plan.removed);
  const key = `${evalTextKey(st.evalText)}|${st.evalWindow}|${st.evalBos}|${st.evalMaxWindows}`;
  const cached = rec.ppl?.key === key ? rec.ppl.results : {};
  const plans = [full, current].filter((p, i, all) => !cached[planKey(p)] && all.findIndex((q) => planKey(q) === planKey(p)) === i);
  // The healed model (its adapters at their last step), once per adapter state.
  const adapters = await healedWeights();
  const healed = adapters && !cached[healedPplKey(adapters)] ? adapters : undefined;
  if (plans.length === 0 && !healed) return;
  try {
    const started = performance.now();
    const reply = await run('ppl', (c) => c.perplexity({
      text: textSpec(st.evalText, 'heldout'), window: st.evalWindow, bos: st.evalBos, plans,
      ...(st.evalMaxWindows > 0 ? { maxWindows: st.evalMaxWindows } : {}), ...(healed ? { healed } : {}),
    }));
    if (!stillLoaded(model)) return;
    const blockWindows = plans.reduce((n, p, i) => n + p.length * reply.results[i]!.windows, 0) + (healed && reply.healed ? healed.plan.length * reply.healed.windows : 0);
    const secondsPerBlockWindow = (performance.now() - started) / 1000 / Math.max(1, blockWindows);
    useLab.getState().updateRecord((r) => {
      const base = r.ppl?.key === key ? r.ppl.results : {};
      const results = { ...base };
      plans.forEach((p, i) => (results[planKey(p)] = reply.results[i]!));
      if (healed && reply.healed) results[healedPplKey(healed)] = reply.healed;
      return { ...r, ppl: { key, window: st.evalWindow, bos: st.evalBos, maxWindows: st.evalMaxWindows, textSha256: reply.textSha256, textName: reply.textName, results, secondsPerBlockWindow } };
    });
  } catch (err) {
    useLab.getState().setError('ppl', cancelled(err) ? 'The perplexity run was cancelled: nothing new was measured.' : message(err));
  }
}

/** Where the PPL record keeps the healed model's result: its plan and adapter state. */
export const healedPplKey = (w: Pick<LoraWeights, 'plan' | 'key'>) => `${planKey(w.plan)}|lora:${w.key}`;

/** The evaluation text's part of a results key (a pasted text by its name, length and hash). */
const evalTextKey = (t: TextChoice) => (t.kind === 'embedded' ? 'embedded' : `${t.name}:${t.text.length}:${hashString(t.text)}`);

function hashString(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

let stopGeneration = false;
type PaneName = 'original' | 'pruned' | 'healed';

/** The original and the pruned model generate from one prompt, one after the other, streaming tokens. */
export async function runGeneration(): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const st = s.settings;
  const rec = currentRecord(s);
  // Once healing has produced adapters, the pruned model with them (on the plan they were trained for) is a third pane.
  const healed = await healedWeights();
  const panes: [PaneName, number[]][] = [
    ['original', keptBlocks(model.numLayers, [])],
    ['pruned', keptBlocks(model.numLayers, rec.plan.removed)],
    ...(healed ? [['healed', healed.plan] as [PaneName, number[]]] : []),
  ];
  stopGeneration = false;
  const setPane = (name: PaneName, pane: PaneState | null) =>
    useLab.getState().updateRecord((r) => ({ ...r, generation: { prompt: st.prompt, original: r.generation?.original ?? null, pruned: r.generation?.pruned ?? null, healed: r.generation?.healed ?? null, [name]: pane } }));
  useLab.getState().updateRecord((r) => ({ ...r, generation: { prompt: st.prompt, original: null, pruned: null, healed: null } }));
  for (const [name, plan] of panes) {
    if (stopGeneration) {
      // Say so in the pane that never ran, rather than leave it blank.
      setPane(name, { text: '', tokens: 0, tokPerS: null, running: false, plan, error: 'not run: generation was cancelled' });
      continue;
    }
    let pane: PaneState = { text: '', tokens: 0, tokPerS: null, running: true, plan };
    setPane(name, pane);
    const s2 = useLab.getState();
    s2.setError('generate', undefined);
    const job = engine().generate({
      prompt: st.prompt, plan, maxNewTokens: st.maxTokens, seed: st.genSeed, ...(name === 'healed' && healed ? { adapter: healed } : {}),
      sampling: { temperature: st.temperature, topK: st.topK, topP: st.topP, repetitionPenalty: st.repetitionPenalty },
    });
    running.set(job.id, 'generate');
    s2.setJob('generate', { id: job.id, done: 0, total: st.maxTokens, what: `${name === 'healed' ? 'pruned + LoRA' : name} model`, startedAt: Date.now() });
    tokenSinks.set(job.id, (text, index, elapsedMs) => {
      pane = { ...pane, text: pane.text + text, tokens: index + 1, tokPerS: elapsedMs > 0 ? ((index + 1) / elapsedMs) * 1000 : null };
      setPane(name, pane);
      const j = useLab.getState().jobs.generate;
      if (j?.id === job.id) useLab.getState().setJob('generate', { ...j, done: index + 1 });
    });
    try {
      const r = await job.result;
      const ms = r.prefillMs + r.decodeMs;
      pane = { ...pane, text: r.text, tokens: r.tokens, tokPerS: ms > 0 ? (r.tokens / ms) * 1000 : null, warmupMs: r.warmupMs || undefined, running: false };
    } catch (err) {
      pane = { ...pane, running: false, ...(cancelled(err) ? { error: 'cancelled' } : { error: message(err) }) };
      if (cancelled(err)) stopGeneration = true;
    } finally {
      tokenSinks.delete(job.id);
      running.delete(job.id);
      useLab.getState().setJob('generate', undefined);
    }
    setPane(name, pane);
  }
}

export function cancelGeneration(): void {
  stopGeneration = true;
  cancelJob('generate');
}

/** The benchmark: original, current plan, and a sweep of k blocks removed by the chosen criterion. */
export async function runBenchmark(): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const st = s.settings;
  const rec = currentRecord(s);
  const L = model.numLayers;
  const full = keptBlocks(L, []);
  const current = keptBlocks(L, rec.plan.removed);
  const sweep: { criterion: typeof st.selectCriterion; k: number; plan: number[] }[] = [];
  const result = rec.scores?.results[st.selectCriterion];
  const step = Math.round(st.sweepStep);
  if (result && step >= 1) {
    const prot = protectedBlocks(st.protectText, L);
    for (let k = step; k <= Math.floor(L / 2); k += step) {
      const sel = selectByCriterion(result, k, prot, L);
      if (sel.removed.length < k) break;
      sweep.push({ criterion: st.selectCriterion, k, plan: keptBlocks(L, sel.removed) });
    }
  }
  // Every plan shown is measured again, in one round-robin run: a speedup divides figures of the
  // same run, never a fresh rate by a remembered one (clocks and load change between clicks).
  const all = [full, current, ...sweep.map((x) => x.plan)];
  const plans = all.filter((p, i) => all.findIndex((q) => planKey(q) === planKey(p)) === i);
  // Healed adapters: their plan merged (the pruned shapes) and unmerged, after the plans, keyed by variant.
  const healed = await healedWeights();
  try {
    const reply = await run('benchmark', (c) => c.benchmark({ plans, options: st.speed, ...(healed ? { healed } : {}) }));
    if (!stillLoaded(model)) return;
    const results = Object.fromEntries(reply.results.map((r, i) => [i < plans.length ? planKey(plans[i]!) : `${planKey(r.plan)}|${r.variant}`, r]));
    useLab.getState().updateRecord((r) => ({ ...r, speed: { options: st.speed, results, sweep } }));
  } catch (err) {
    if (!cancelled(err)) useLab.getState().setError('benchmark', message(err));
  }
}

/** Writes the pruned checkpoint in the worker and downloads each file. */
export async function exportCheckpoint(mask?: import('../prune/mask').PruningMask): Promise<string[]> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return [];
  const kept = keptBlocks(model.numLayers, currentRecord(s).plan.removed);
  try {
    const reply = await run('export', (c) => c.exportCheckpoint({ kept, toF16: s.settings.toF16, ...(mask ? { mask } : {}) }), 'writing');
    for (const f of reply.files) downloadBlob(f.blob, f.name);
    return reply.files.map((f) => f.name);
  } catch (err) {
    if (!cancelled(err)) useLab.getState().setError('export', message(err));
    return [];
  }
}

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The frontier sweep over every computed criterion (src/app/jobs/sweep.ts) on the Evaluate panel's
 * text, window and BOS mode; plans already evaluated under the same protocol are sent as known.
 */
export async function runSweep(): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const st = s.settings;
  const rec = currentRecord(s);
  const results = Object.values(rec.scores?.results ?? {}).filter((r) => r !== undefined);
  if (results.length === 0) return;
  const key = `${evalTextKey(st.evalText)}|${st.evalWindow}|${st.evalBos}|${st.frontierWindows}`;
  const cache = rec.frontier?.key === key ? rec.frontier.cache : {};
  try {
    const { sweep } = await run('sweep', (c) => c.sweep({
      criteria: results.map((r) => ({ criterion: r.criterion, scores: r.scores, ...(r.windows ? { windows: r.windows } : {}) })),
      protect: protectedBlocks(st.protectText, model.numLayers),
      ...(st.frontierMaxK > 0 ? { maxK: st.frontierMaxK } : {}),
      text: textSpec(st.evalText, 'heldout'), window: st.evalWindow, bos: st.evalBos, maxWindows: st.frontierWindows,
      known: Object.entries(cache).map(([k, result]) => ({ kept: k.split(',').map(Number), result })),
    }));
    if (!stillLoaded(model)) return;
    useLab.getState().updateRecord((r) => {
      const base = r.frontier?.key === key ? r.frontier.cache : {};
      const merged = { ...base, ...Object.fromEntries(sweep.plans.map((p) => [planKey(p.kept), p.ppl])) };
      return { ...r, frontier: { key, sweep, cache: merged } };
    });
  } catch (err) {
    if (!cancelled(err)) useLab.getState().setError('sweep', message(err));
  }
}
