/**
 * UI state only (zustand): what the page shows and what the user chose. Engine objects live in
 * the worker; engine calls live in the action modules (lab-actions.ts, mask-actions.ts). Pure plan
 * edits (toggle, prune k, undo/redo) are store actions, so components and tests use them alike.
 *
 * Persisted to IndexedDB (idb-keyval) through zustand's persist middleware: the chosen model
 * source (never a Hub token), the settings, and per model (fingerprint and weight format, see
 * recordKey) the scores, the plan with its history, and the perplexity, speed and generation results.
 */
import { del as idbDel, get as idbGet, set as idbSet } from 'idb-keyval';
import { create } from 'zustand';
import { createJSONStorage, persist, type StateStorage } from 'zustand/middleware';
import type { AdapterSummary } from '../gpu/device';
import type { SpeedResult, SpeedOptions } from '../eval/speed';
import type { FormatComparison } from '../eval/format-comparison';
import type { WeightFormat } from '../quant/formats';
import type { PerplexityResult } from '../eval/perplexity';
import type { BosMode } from '../eval/perplexity';
import type { CalibrationSpec } from '../prune/calibration';
import type { CriterionName } from '../prune/mask';
import type { TaskTable } from '../tasks/results';
import { criterion, type ScoredCriterion } from '../prune/criteria/registry';
import { finiteOrNull } from '../prune/criteria/ranking';
import { selectByCriterion as select } from '../prune/criteria/selection';
import { resolveProtected, SEED_PROTECTED } from '../prune/select';
import type { CriterionResult, ModelInfo } from '../app/protocol';
import { DEFAULT_SWEEP_WINDOWS, type SweepResult } from '../app/sweep';
import type { HealSettings } from '../heal/run';
import { EMBEDDED_HEAL } from './heal-presets';

export type GpuStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: AdapterSummary }
  | { state: 'unavailable'; message: string }
  | { state: 'lost'; message: string };

/** The model source as remembered (a Hub token is never part of it; a Hub host other than huggingface.co is). */
export type SourceChoice = { kind: 'embedded' } | { kind: 'hub'; id: string; revision: string; host?: string } | { kind: 'local'; name: string };

export type JobKey = 'load' | 'score' | 'ppl' | 'generate' | 'benchmark' | 'compare' | 'export' | 'tasks' | 'sweep' | 'heal';

export interface JobStatus {
  id: number;
  done: number;
  total: number;
  what: string;
  bytes?: { done: number; total: number; rate: number };
  startedAt: number;
}

/** What the page calls a plan's criterion (the registry's label; "manual" for a hand edit). */
export const criterionLabel = (name: CriterionName): string => (name === 'manual' ? 'manual' : criterion(name).label);

/** A computed criterion as kept in the UI (the bulky per-weight detail is dropped). */
export interface StoredCriterion {
  criterion: ScoredCriterion;
  scores: (number | null)[];
  ranking: number[];
  /** Compute time (for a cached result: when it was computed). */
  seconds: number;
  /** Read from the engine's score cache rather than computed by the run that delivered it. */
  cached?: boolean;
  /** PPL: full-model calibration PPL; angular: windows[n-1][l] = d(l, l+n). */
  fullPpl?: number;
  windows?: number[][];
}

export interface ScoreRecord {
  /** The calibration all data-based scores were computed on (null: only data-free criteria). */
  calibration: CalibrationSpec | null;
  results: Partial<Record<ScoredCriterion, StoredCriterion>>;
}

export interface PlanState {
  /** Removed blocks, original indices, sorted. */
  removed: number[];
  /** What decided them: a criterion's one-shot selection, or 'manual' after a hand edit. */
  criterion: CriterionName;
  /** Resolved protected blocks the selection honoured. */
  protect: number[];
  warning?: string;
}

export interface PplRecord {
  key: string;
  window: number;
  bos: BosMode;
  maxWindows: number;
  textSha256: string;
  textName: string;
  /** Per plan key (kept blocks joined by ','). */
  results: Record<string, PerplexityResult>;
  /** Wall seconds per (window x block) of the last run, for the Evaluate panel's time estimate (absent in older records). */
  secondsPerBlockWindow?: number;
}

export interface FrontierRecord {
  /** The evaluation protocol's key (text, window, BOS, windows): cached plans are reused only under the same one. */
  key: string;
  sweep: SweepResult;
  /** Perplexity per plan key (kept blocks) under `key`, from every sweep so far. */
  cache: Record<string, PerplexityResult>;
}

export interface SpeedRecord {
  options: SpeedOptions;
  results: Record<string, SpeedResult>;
  /** The sweep: criterion and its plans (k blocks removed), for the chart. */
  sweep: { criterion: CriterionName; k: number; plan: number[] }[];
}

export interface PaneState {
  text: string;
  tokens: number;
  tokPerS: number | null;
  /** The untimed first run that compiled the pipelines, when this generation needed one. */
  warmupMs?: number;
  running: boolean;
  error?: string;
  plan: number[];
}

export interface GenerationRecord {
  prompt: string;
  original: PaneState | null;
  pruned: PaneState | null;
  /** The pruned model with the healing adapters (absent before any adapter existed). */
  healed?: PaneState | null;
}

/**
 * A healing run of the current model (Heal panel): what it was started with, so that a pause, a
 * reload or a device loss resumes it with the same request, and its curve so far. The trainer state
 * itself is kept apart (src/browser/heal-state-idb.ts), under `runId`.
 */
export interface HealRecord {
  runId: string;
  plan: number[];
  settings: HealSettings;
  /** > 0: the steps were computed as this many passes over the text. */
  epochs: number;
  text: TextChoice;
  heldout: TextChoice;
  heldoutWindows: number;
  status: 'running' | 'paused' | 'done' | 'cancelled' | 'failed';
  /** Optimizer steps done and in all (0 until the engine has said, with epochs). */
  step: number;
  total: number;
  /** Training loss of steps 1..step. */
  losses: number[];
  /** Held-out perplexity at steps (0: before healing, the pruned model). */
  ppl: { step: number; ppl: number }[];
  tokensPerS?: number;
  message?: string;
}

export interface ModelRecord {
  scores: ScoreRecord | null;
  plan: PlanState;
  past: PlanState[];
  future: PlanState[];
  ppl: PplRecord | null;
  speed: SpeedRecord | null;
  generation: GenerationRecord | null;
  /** Zero-shot task results (absent in records stored before tasks existed). */
  tasks?: TaskRecord | null;
  /** The last frontier sweep and every plan's perplexity under its protocol (optional: older records lack it). */
  frontier?: FrontierRecord | null;
  /** The last healing run (optional: older records lack it). */
  heal?: HealRecord | null;
  /** The last weight-format comparison (Speed panel; optional: older records lack it). */
  formats?: FormatComparison | null;
}

/** Task results of one pair of plans (original, current plan), task by task as they complete. */
export interface TaskRecord {
  /** Keys of the plans the table's rows were measured on. */
  planKeys: string[];
  table: TaskTable;
  /** ISO date of the last task added. */
  at: string;
}

export type TextChoice = { kind: 'embedded' } | { kind: 'inline'; name: string; text: string };

export interface Settings {
  criteria: ScoredCriterion[];
  calibration: TextChoice;
  n: number;
  t: number;
  seed: number;
  bos: BosMode;
  protectText: string;
  /** Prune by: the criterion, and k or a ratio. */
  selectCriterion: ScoredCriterion;
  pruneMode: 'k' | 'ratio';
  pruneK: number;
  pruneRatio: number;
  evalText: TextChoice;
  evalWindow: number;
  evalBos: BosMode;
  evalMaxWindows: number;
  prompt: string;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  genSeed: number;
  maxTokens: number;
  speed: SpeedOptions;
  sweepStep: number;
  /** The weight formats the Speed panel's comparison measures. */
  compareFormats: WeightFormat[];
  toF16: boolean;
  /** Zero-shot tasks picked in the Tasks panel and the items per task (0 = all). */
  tasks: { selected: string[]; limit: number };
  /** Frontier sweep: held-out windows per plan, K (0 = default), the chart's x axis. */
  frontierWindows: number;
  frontierMaxK: number;
  frontierX: 'speedup' | 'removed';
  /** The Heal panel's settings, training text and held-out windows (the held-out text is the Evaluate panel's). */
  heal: HealUiSettings;
}

/** What the Heal panel sets: the run's settings, epochs (0: use steps), the training text, held-out windows. */
export interface HealUiSettings extends HealSettings {
  epochs: number;
  text: TextChoice;
  heldoutWindows: number;
}

export const DEFAULT_SETTINGS: Settings = {
  criteria: ['ppl', 'taylor'],
  calibration: { kind: 'embedded' },
  n: 10,
  t: 128,
  seed: 1234,
  bos: 'first',
  protectText: SEED_PROTECTED.join(','),
  selectCriterion: 'ppl',
  pruneMode: 'ratio',
  pruneK: 3,
  pruneRatio: 0.2,
  evalText: { kind: 'embedded' },
  evalWindow: 128,
  evalBos: 'first',
  evalMaxWindows: 0,
  prompt: 'In the beginning',
  temperature: 1,
  topK: 50,
  topP: 0.95,
  repetitionPenalty: 1,
  genSeed: 1234,
  maxTokens: 48,
  speed: { promptTokens: 32, newTokens: 64, warmup: 1, runs: 3 },
  sweepStep: 2,
  compareFormats: ['float', 'q8', 'q4'],
  toF16: false,
  tasks: { selected: ['kjv_verse_end', 'kjv_last_word'], limit: 100 },
  frontierWindows: DEFAULT_SWEEP_WINDOWS,
  frontierMaxK: 0,
  frontierX: 'speedup',
  heal: { ...EMBEDDED_HEAL, text: { kind: 'embedded' } },
};

export const emptyRecord = (): ModelRecord => ({
  scores: null,
  plan: { removed: [], criterion: 'manual', protect: [] },
  past: [],
  future: [],
  ppl: null,
  speed: null,
  generation: null,
});

/** A plan's key: its kept blocks. */
export const planKey = (kept: readonly number[]): string => kept.join(',');

export function keptBlocks(numLayers: number, removed: readonly number[]): number[] {
  const r = new Set(removed);
  return Array.from({ length: numLayers }, (_, i) => i).filter((i) => !r.has(i));
}

/** Parses "0,1,2,3,-2,-1" (spaces and ranges "0-3" allowed); throws on anything else. */
export function parseProtect(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const range = /^(\d+)\.\.(\d+)$/.exec(part) ?? /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      for (let i = Number(range[1]); i <= Number(range[2]); i++) out.push(i);
    } else if (/^-?\d+$/.test(part)) out.push(Number(part));
    else throw new Error(`"${part}" is not a block index (use e.g. 0,1,2,3,-2,-1)`);
  }
  return out;
}

/** Why the protected-blocks text does not parse, or null when it does. Actions that select blocks wait for it. */
export function protectProblem(text: string): string | null {
  try {
    parseProtect(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The settings each job reads: changing one clears that job's last error. */
const ERROR_SETTINGS: Partial<Record<JobKey, (keyof Settings)[]>> = {
  score: ['criteria', 'calibration', 'n', 't', 'seed', 'bos', 'protectText'],
  ppl: ['evalText', 'evalWindow', 'evalBos', 'evalMaxWindows'],
  generate: ['prompt', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'genSeed', 'maxTokens'],
  benchmark: ['speed', 'sweepStep', 'protectText'],
  compare: ['speed', 'compareFormats'],
  heal: ['heal'],
};

/** Entries of the protected-blocks text that name no block of this model (shown, never dropped silently). */
export function protectOutOfRange(text: string, numLayers: number): number[] {
  try {
    return [...new Set(parseProtect(text))].filter((b) => b >= numLayers || b < -numLayers);
  } catch {
    return [];
  }
}

/** Protected blocks for the settings' text, or the seed default when it does not parse (display only: see protectProblem). */
export function protectedBlocks(text: string, numLayers: number): number[] {
  try {
    return resolveProtected(parseProtect(text), numLayers);
  } catch {
    return resolveProtected(SEED_PROTECTED, numLayers);
  }
}

export function kFor(settings: Pick<Settings, 'pruneMode' | 'pruneK' | 'pruneRatio'>, numLayers: number): number {
  if (settings.pruneMode === 'k') return Math.max(0, Math.min(numLayers - 1, Math.round(settings.pruneK)));
  return Math.min(numLayers - 1, Math.round(Math.max(0, Math.min(1, settings.pruneRatio)) * numLayers));
}

/** The one-shot selection by a criterion's rule (src/prune/criteria/selection.ts), as a plan. */
export function selectByCriterion(result: StoredCriterion, k: number, protect: readonly number[], numLayers: number): PlanState {
  const prot = resolveProtected(protect, numLayers);
  const s = select(criterion(result.criterion), result, k, prot, numLayers);
  return { removed: s.removed, criterion: result.criterion, protect: prot, ...(s.warning ? { warning: s.warning } : {}) };
}

export interface LabState {
  gpu: GpuStatus;
  /** The loaded model (null until a load succeeds); a failed load keeps the previous one. */
  model: ModelInfo | null;
  loadError: string | null;
  source: SourceChoice;
  jobs: Partial<Record<JobKey, JobStatus>>;
  errors: Partial<Record<JobKey, string>>;
  settings: Settings;
  records: Record<string, ModelRecord>;
  maskMessage: { kind: 'ok' | 'error'; text: string; issues?: string[] } | null;
  hydrated: boolean;

  setGpu: (gpu: GpuStatus) => void;
  setModel: (model: ModelInfo) => void;
  setLoadError: (message: string | null) => void;
  setSource: (source: SourceChoice) => void;
  setJob: (key: JobKey, job: JobStatus | undefined) => void;
  setError: (key: JobKey, message: string | undefined) => void;
  updateSettings: (patch: Partial<Settings>) => void;
  /** Edits the loaded model's record. */
  updateRecord: (fn: (r: ModelRecord) => ModelRecord) => void;
  setMaskMessage: (m: LabState['maskMessage']) => void;

  toggleBlock: (block: number) => void;
  /** Prunes k blocks by the chosen criterion's scores (one-shot, with the protected set). */
  pruneBy: (criterion: ScoredCriterion, k: number) => void;
  /** Replaces the plan (e.g. from an imported mask); undoable. */
  applyPlan: (plan: PlanState) => void;
  undo: () => void;
  redo: () => void;
  mergeScores: (calibration: CalibrationSpec | null, results: CriterionResult[]) => void;
}

/** Whether any engine job runs (the worker runs one job at a time: other run buttons wait). */
export const anyJob = (s: Pick<LabState, 'jobs'>): boolean => Object.values(s.jobs).some(Boolean);

/**
 * Records with no generation pane marked running: for a reload (jobs are not persisted) and a lost
 * device (the model, and so the record the generation would have updated, is gone).
 */
export function settledRecords(records: Record<string, ModelRecord>): Record<string, ModelRecord> {
  const settle = (p: PaneState | null) => (p?.running ? { ...p, running: false, error: p.error ?? 'interrupted' } : p);
  // A healing run that was running stopped with the page (or the device): it can be resumed.
  const settleHeal = (h: HealRecord) => (h.status === 'running' ? { ...h, status: 'paused' as const, message: 'interrupted: resume to continue where it stopped' } : h);
  return Object.fromEntries(Object.entries(records).map(([fp, r]) => {
    const g = r.generation;
    const out = g ? { ...r, generation: { ...g, original: settle(g.original), pruned: settle(g.pruned), ...(g.healed !== undefined ? { healed: settle(g.healed) } : {}) } } : r;
    return [fp, out.heal ? { ...out, heal: settleHeal(out.heal) } : out];
  }));
}

/**
 * Where a model's record is kept: its fingerprint, and its weight format when quantized (scores, masks
 * and speeds differ by format, as the score cache keeps them apart). A model as stored keeps the bare
 * fingerprint, the key of every record saved before formats existed.
 */
export function recordKey(model: Pick<ModelInfo, 'fingerprint' | 'weightFormat'>): string {
  return !model.weightFormat || model.weightFormat === 'float' ? model.fingerprint : `${model.fingerprint}|${model.weightFormat}`;
}

/** Whether the page still shows the model a job was started for (same checkpoint and format). */
export const stillLoaded = (model: ModelInfo): boolean => {
  const now = useLab.getState().model;
  return !!now && recordKey(now) === recordKey(model);
};

/** The current model's record (a fresh one when nothing is stored yet). */
export function currentRecord(s: Pick<LabState, 'model' | 'records'>): ModelRecord {
  return (s.model && s.records[recordKey(s.model)]) || EMPTY;
}
const EMPTY = emptyRecord();

const sameCalibration = (a: CalibrationSpec | null, b: CalibrationSpec | null) =>
  !!a && !!b && a.textSha256 === b.textSha256 && a.n === b.n && a.t === b.t && a.seed === b.seed && a.bos === b.bos;

const HISTORY = 100;

// persist hands over the serialized state on every change, progress ticks included, while the
// persisted part (source, settings, records) changes only on real events: write those at once
// (a reload right after loading a model must reopen it) and skip the repeats.
const lastWritten = new Map<string, string>();

const idbStorage: StateStorage = {
  getItem: async (name) => (await idbGet<string>(name)) ?? null,
  setItem: (name, value) => {
    if (lastWritten.get(name) === value) return;
    lastWritten.set(name, value);
    void idbSet(name, value);
  },
  removeItem: (name) => {
    lastWritten.delete(name);
    return idbDel(name);
  },
};

/** Whether IndexedDB exists (not in Node tests): otherwise nothing is persisted. */
const storage = typeof indexedDB === 'undefined' ? undefined : createJSONStorage(() => idbStorage);

export const useLab = create<LabState>()(
  persist(
    (set, get) => {
      const edit = (fn: (r: ModelRecord, s: LabState) => ModelRecord) => {
        const s = get();
        if (!s.model) return;
        const key = recordKey(s.model);
        set({ records: { ...s.records, [key]: fn(s.records[key] ?? emptyRecord(), s) } });
      };
      const change = (next: (r: ModelRecord, s: LabState) => PlanState | null) =>
        edit((r, s) => {
          const plan = next(r, s);
          if (!plan) return r;
          return { ...r, plan, past: [...r.past, r.plan].slice(-HISTORY), future: [] };
        });
      return {
        gpu: { state: 'starting' },
        model: null,
        loadError: null,
        source: { kind: 'embedded' },
        jobs: {},
        errors: {},
        settings: DEFAULT_SETTINGS,
        records: {},
        maskMessage: null,
        hydrated: false,

        setGpu: (gpu) => set({ gpu }),
        setModel: (model) => set({ model, loadError: null }),
        setLoadError: (loadError) => set({ loadError }),
        setSource: (source) => set({ source }),
        setJob: (key, job) => set((s) => ({ jobs: { ...s.jobs, [key]: job } })),
        setError: (key, message) => set((s) => ({ errors: { ...s.errors, [key]: message } })),
        updateSettings: (patch) =>
          set((s) => {
            // An error about settings the user has just changed is stale ("not enough text" after switching texts).
            const stale = (Object.keys(ERROR_SETTINGS) as JobKey[]).filter((k) => s.errors[k] && ERROR_SETTINGS[k]!.some((f) => f in patch));
            const errors = stale.length ? { ...s.errors, ...Object.fromEntries(stale.map((k) => [k, undefined])) } : s.errors;
            return { settings: { ...s.settings, ...patch }, errors };
          }),
        updateRecord: (fn) => edit(fn),
        setMaskMessage: (maskMessage) => set({ maskMessage }),

        toggleBlock: (block) =>
          change((r, s) => {
            const L = s.model!.numLayers;
            if (block < 0 || block >= L) return null;
            const removed = new Set(r.plan.removed);
            if (removed.has(block)) removed.delete(block);
            else {
              if (removed.size >= L - 1) return null; // keep at least one block
              removed.add(block);
            }
            return { removed: [...removed].sort((a, b) => a - b), criterion: 'manual', protect: r.plan.protect };
          }),
        pruneBy: (criterion, k) =>
          change((r, s) => {
            const result = r.scores?.results[criterion];
            if (!result) return null;
            const L = s.model!.numLayers;
            return selectByCriterion(result, k, protectedBlocks(s.settings.protectText, L), L);
          }),
        applyPlan: (plan) => change(() => plan),
        undo: () =>
          edit((r) => {
            const prev = r.past[r.past.length - 1];
            if (!prev) return r;
            return { ...r, plan: prev, past: r.past.slice(0, -1), future: [r.plan, ...r.future] };
          }),
        redo: () =>
          edit((r) => {
            const next = r.future[0];
            if (!next) return r;
            return { ...r, plan: next, past: [...r.past, r.plan], future: r.future.slice(1) };
          }),
        mergeScores: (calibration, results) =>
          edit((r) => {
            const usesData = results.some((x) => criterion(x.criterion).needsData);
            const prev = r.scores;
            // Data-based scores from another calibration set are replaced (a mask carries one calibration).
            const keepOld = prev && (!usesData || !prev.calibration || sameCalibration(prev.calibration, calibration));
            const base: ScoreRecord['results'] = {};
            if (prev) {
              for (const [name, v] of Object.entries(prev.results)) {
                if (keepOld || !criterion(name as ScoredCriterion).needsData) base[name as ScoredCriterion] = v;
              }
            }
            for (const x of results) {
              const stored: StoredCriterion = { criterion: x.criterion, scores: x.scores.map(finiteOrNull), ranking: x.ranking, seconds: x.seconds };
              if (x.cached) stored.cached = true;
              if (typeof x.detail.fullPpl === 'number') stored.fullPpl = x.detail.fullPpl;
              if (Array.isArray(x.detail.windows)) stored.windows = x.detail.windows as number[][];
              base[x.criterion] = stored;
            }
            const cal = usesData ? calibration : (prev?.calibration ?? null);
            return { ...r, scores: { calibration: cal, results: base } };
          }),
      };
    },
    {
      name: 'depth-pruning-lab',
      version: 1,
      ...(storage ? { storage } : {}),
      partialize: (s) => ({ source: s.source, settings: s.settings, records: s.records }),
      merge: (persisted, current) => {
        const p = (persisted ?? {}) as Partial<LabState>;
        return { ...current, ...p, settings: { ...DEFAULT_SETTINGS, ...(p.settings ?? {}) }, records: settledRecords(p.records ?? current.records), hydrated: true };
      },
      onRehydrateStorage: () => () => useLab.setState({ hydrated: true }),
    },
  ),
);
