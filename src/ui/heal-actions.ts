/**
 * Healing from the page: start, pause, resume and cancel the engine's heal job; the trainer state of
 * every optimizer step is kept in IndexedDB (src/browser/heal-state-idb.ts), so a pause, a cancel or a
 * reload loses at most the step that was running. Pause and cancel both stop the job at once; a paused
 * run can be resumed, a cancelled one keeps the adapters it reached (for Generate, Speed and export).
 */
import type { LoraWeights } from '../app/protocol';
import { healStateStore, type StoredHealState } from '../browser/heal-state-idb';
import { canPickDirectory, DirectorySink } from '../browser/directory-sink';
import { peftAdapterFolder } from '../heal/peft';
import type { TrainerState } from '../heal/train';
import { cancelled, cancelJob, downloadBlob, message, onHealState, run, textSpec } from './lab-actions';
import { currentRecord, keptBlocks, recordKey, useLab, type HealRecord } from './store';

const states = healStateStore();
/** The last state read or received, per model record (recordKey; saves an IndexedDB read per Generate). */
const latest = new Map<string, StoredHealState>();
let stopping: 'pause' | 'cancel' | undefined;

const setHeal = (fn: (h: HealRecord) => HealRecord) => useLab.getState().updateRecord((r) => (r.heal ? { ...r, heal: fn(r.heal) } : r));

/** The stored trainer state of the current model's run (undefined when none, or another run's). */
export async function storedState(): Promise<StoredHealState | undefined> {
  const s = useLab.getState();
  const h = currentRecord(s).heal;
  if (!s.model || !h) return undefined;
  const key = recordKey(s.model);
  const cached = latest.get(key);
  if (cached?.runId === h.runId) return cached;
  const stored = await states.get(key);
  if (stored?.runId !== h.runId) return undefined;
  latest.set(key, stored);
  return stored;
}

/** Starts a new run with the panel's settings on the current plan (replacing the last run). */
export async function startHeal(): Promise<void> {
  const s = useLab.getState();
  if (!s.model) return;
  const { epochs, text, heldoutWindows, ...settings } = s.settings.heal;
  const record: HealRecord = {
    runId: `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`,
    plan: keptBlocks(s.model.numLayers, currentRecord(s).plan.removed),
    settings, epochs, text, heldout: s.settings.evalText, heldoutWindows,
    status: 'running', step: 0, total: epochs > 0 ? 0 : settings.steps, losses: [], ppl: [],
  };
  s.updateRecord((r) => ({ ...r, heal: record }));
  await trainRun(record, undefined);
}

/** Continues the paused (or interrupted) run from its last stored step. */
export async function resumeHeal(): Promise<void> {
  const h = currentRecord(useLab.getState()).heal;
  if (!h) return;
  const stored = await storedState();
  setHeal((x) => ({ ...x, status: 'running', message: undefined, ...(stored ? {} : { step: 0, losses: [], ppl: [] }) }));
  await trainRun(h, stored?.state);
}

export function pauseHeal(): void {
  stopping = 'pause';
  cancelJob('heal');
}

export function cancelHeal(): void {
  stopping = 'cancel';
  cancelJob('heal');
}

async function trainRun(h: HealRecord, resume: TrainerState | undefined): Promise<void> {
  const key = recordKey(useLab.getState().model!);
  stopping = undefined;
  const perStepTokens = h.settings.batch * h.settings.micro * h.settings.window;
  let t0 = 0;
  let stepsTimed = 0;
  const pending: Promise<void>[] = [];
  try {
    const reply = await run('heal', (c) => {
      const job = c.heal({
        plan: h.plan, text: textSpec(h.text, 'calibration'), settings: h.settings, heldout: textSpec(h.heldout, 'heldout'), heldoutWindows: h.heldoutWindows,
        ...(h.epochs > 0 ? { epochs: h.epochs } : {}), ...(resume ? { resume } : {}),
      });
      onHealState(job.id, (state, loss) => {
        const now = performance.now();
        if (t0 === 0) t0 = now; // the first step includes pipeline compilation: the rate counts from its end
        else stepsTimed++;
        const stored = { runId: h.runId, state };
        latest.set(key, stored);
        pending.push(states.set(key, stored));
        const total = useLab.getState().jobs.heal?.total || h.total;
        setHeal((x) => ({
          ...x, step: state.step, total: Math.max(total, x.total), losses: [...x.losses.slice(0, state.step - 1), loss],
          ...(stepsTimed > 0 ? { tokensPerS: (stepsTimed * perStepTokens * 1000) / (now - t0) } : {}),
        }));
      });
      return job;
    }, resume ? `resuming at step ${resume.step + 1}` : 'tokenizing and measuring the held-out PPL');
    await Promise.all(pending);
    setHeal((x) => {
      // Every held-out evaluation of this run (a resumed run's start at its step), beside those kept from before.
      const evaluated = new Set(reply.evaluations.map((e) => e.step));
      const ppl = [...x.ppl.filter((p) => !evaluated.has(p.step)), ...reply.evaluations.map((e) => ({ step: e.step, ppl: e.ppl }))].sort((p, q) => p.step - q.step);
      // a run stopped by a non-finite loss is done at its last good step, with the message
      return { ...x, status: 'done', total: reply.steps, step: reply.stopped?.step ?? reply.steps, ppl, tokensPerS: reply.tokensPerS, message: reply.stopped?.message };
    });
  } catch (err) {
    await Promise.all(pending).catch(() => undefined);
    if (cancelled(err)) setHeal((x) => ({ ...x, status: stopping === 'cancel' ? 'cancelled' : 'paused', message: undefined }));
    else setHeal((x) => ({ ...x, status: 'failed', message: message(err) }));
  }
}

/** Names the adapters of a run at a step (the engine keeps one set on the GPU per key; results are cached by it). */
export const adapterKey = (runId: string, step: number) => `${runId}@${step}`;

/** The current run's adapters for Generate and Speed (undefined before its first step). */
export async function healedWeights(): Promise<LoraWeights | undefined> {
  const h = currentRecord(useLab.getState()).heal;
  const stored = await storedState();
  if (!h || !stored) return undefined;
  return {
    key: adapterKey(stored.runId, stored.state.step), plan: h.plan, r: h.settings.r, alpha: h.settings.alpha,
    adapters: stored.state.adapters.map((a) => ({ block: a.block, name: a.name, A: a.A.value, B: a.B.value })),
  };
}

/** The PEFT adapter folder (adapter_config.json, adapter_model.safetensors) into a picked folder, or as downloads. */
export async function exportAdapter(toFolder: boolean): Promise<string[]> {
  const s = useLab.getState();
  const h = currentRecord(s).heal;
  const w = await healedWeights();
  if (!s.model || !h || !w) return [];
  const folder = peftAdapterFolder(w.adapters, { plan: h.plan, r: h.settings.r, alpha: h.settings.alpha, dropout: h.settings.dropout, baseModel: s.model.name });
  const files = Object.entries(folder).map(([name, data]) => ({ name, blob: new Blob([data as BlobPart]) }));
  try {
    if (toFolder && canPickDirectory()) {
      const dir = await (globalThis as unknown as { showDirectoryPicker(o: { mode: 'readwrite' }): Promise<ConstructorParameters<typeof DirectorySink>[0]> }).showDirectoryPicker({ mode: 'readwrite' });
      const sink = new DirectorySink(dir);
      for (const f of files) {
        const out = await sink.create(f.name, f.blob.size);
        await out.write(new Uint8Array(await f.blob.arrayBuffer()));
        await out.close();
      }
    } else for (const f of files) downloadBlob(f.blob, f.name);
    return files.map((f) => f.name);
  } catch (err) {
    if ((err as Error).name !== 'AbortError') s.setError('heal', message(err));
    return [];
  }
}
