/**
 * The Tasks panel's actions: run the picked tasks on the original and the current plan (one engine
 * job per task, so a task that fails - a bad file, a missing column - keeps the ones already
 * measured), keep the results in the model's record, and download them as zeroshot_acc.csv.
 */
import { TASKS } from '../tasks/registry';
import type { TaskDataSpec, TaskSpec } from '../tasks/task-data';
import { taskTableCsv, type PlanSpec, type TaskTable } from '../tasks/results';
import { cancelled, downloadBlob, message, run } from './lab-actions';
import { currentRecord, keptBlocks, planKey, stillLoaded, useLab, type TaskRecord } from './store';

/** Files the user picked per task (not persisted: a reload asks for them again). */
export const taskUploads = new Map<string, File>();

/** Where a task's rows come from: a picked file, else the shipped file, else the dataset's Hub file (the model's Hub host). */
async function dataFor(id: string): Promise<TaskDataSpec> {
  const file = taskUploads.get(id);
  if (file) return { kind: 'upload', name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  const format = TASKS.find((t) => t.id === id);
  if (format?.embedded) return { kind: 'embedded' };
  const source = useLab.getState().source;
  return { kind: 'hub', ...(source.kind === 'hub' && source.host ? { host: source.host } : {}) };
}

/** The plans a run compares: the original, and the current plan when it removes anything. */
export function taskPlans(numLayers: number, removed: readonly number[]): PlanSpec[] {
  const original = { name: 'original', plan: keptBlocks(numLayers, []) };
  return removed.length ? [original, { name: 'current plan', plan: keptBlocks(numLayers, removed) }] : [original];
}

export async function runTasks(): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const { selected, limit } = s.settings.tasks;
  const plans = taskPlans(model.numLayers, currentRecord(s).plan.removed);
  const keys = plans.map((p) => planKey(p.plan));
  for (const id of selected) {
    try {
      const spec: TaskSpec = { task: id, data: await dataFor(id), ...(limit > 0 ? { limit } : {}) };
      const reply = await run('tasks', (c) => c.tasks({ tasks: [spec], plans }), `${id}: loading`);
      if (!stillLoaded(model)) return;
      useLab.getState().updateRecord((r) => ({ ...r, tasks: mergeTask(r.tasks ?? null, keys, reply.table) }));
    } catch (err) {
      if (cancelled(err)) return;
      useLab.getState().setError('tasks', message(err));
      return;
    }
  }
}

/** Adds (or replaces) a task's row; results of other plans than these are dropped. */
export function mergeTask(prev: TaskRecord | null, planKeys: string[], table: TaskTable): TaskRecord {
  const same = prev && prev.planKeys.join('|') === planKeys.join('|');
  const rows = same ? prev.table.tasks.filter((t) => !table.tasks.some((n) => n.task === t.task)) : [];
  return { planKeys, table: { plans: table.plans, tasks: [...rows, ...table.tasks] }, at: new Date().toISOString() };
}

export function downloadTasksCsv(): void {
  const rec = currentRecord(useLab.getState()).tasks;
  if (!rec || rec.table.tasks.length === 0) return;
  downloadBlob(new Blob([taskTableCsv(rec.table)], { type: 'text/csv' }), 'zeroshot_acc.csv');
}
