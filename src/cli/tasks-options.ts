/** The `tasks` command's inputs and output: task ids, data files per task, the table as text. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../node/host';
import { SEED_TABLE_ORDER, TASKS } from '../tasks/registry';
import type { TaskDataSpec, TaskSpec } from '../tasks/task-data';
import { planScores, type TaskTable } from '../tasks/results';
import { table } from './format';

/** Accepted --task values: every task id, and `seed` for the seed's seven in its table's order. */
export const TASK_CHOICES = [...TASKS.map((t) => t.id), 'seed'];

/** "task=path" pairs of --file. */
export function parseFiles(pairs: string[] = []): Map<string, string> {
  const files = new Map<string, string>();
  for (const pair of pairs) {
    const m = /^([a-z0-9_]+)=(.+)$/.exec(pair);
    if (!m || !TASKS.some((t) => t.id === m[1])) throw new UsageError(`--file takes task=path with a task id (${TASKS.map((t) => t.id).join(', ')}), got "${pair}"`);
    files.set(m[1]!, m[2]!);
  }
  return files;
}

export interface HubFile {
  dataset: string;
  revision?: string;
  file: string;
}

/** "task=owner/name[@revision]:path/in/repo" pairs of --hub-file. */
export function parseHubFiles(pairs: string[] = []): Map<string, HubFile> {
  const out = new Map<string, HubFile>();
  for (const pair of pairs) {
    const m = /^([a-z0-9_]+)=([\w.-]+\/[\w.-]+)(?:@([^:]+))?:(.+)$/.exec(pair);
    if (!m || !TASKS.some((t) => t.id === m[1])) throw new UsageError(`--hub-file takes task=owner/name[@revision]:path/in/repo, got "${pair}"`);
    out.set(m[1]!, { dataset: m[2]!, ...(m[3] ? { revision: m[3] } : {}), file: m[4]! });
  }
  return out;
}

/** What each task reads: its --file, else its --hub-file, else the shipped file, else the dataset's default Hub file. */
export function taskSpecs(ids: string[], files: Map<string, string>, o: { limit?: number; hubHost?: string; token?: string; hubFiles?: Map<string, HubFile> }): TaskSpec[] {
  const expanded = [...new Set(ids.flatMap((id) => (id === 'seed' ? SEED_TABLE_ORDER : [id])))];
  for (const id of [...files.keys(), ...(o.hubFiles?.keys() ?? [])]) if (!expanded.includes(id)) throw new UsageError(`--file or --hub-file names ${id}, which is not among --task`);
  return expanded.map((task) => {
    const path = files.get(task);
    const format = TASKS.find((t) => t.id === task)!;
    let data: TaskDataSpec;
    if (path) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(path));
      } catch (e) {
        throw new UsageError(`cannot read the ${task} file ${path}: ${(e as Error).message}`);
      }
      data = { kind: 'upload', name: basename(path), bytes };
    } else if (format.embedded && !o.hubFiles?.has(task)) data = { kind: 'embedded' };
    else if (format.hub || o.hubFiles?.has(task)) data = { kind: 'hub', ...o.hubFiles?.get(task), ...(o.hubHost ? { host: o.hubHost } : {}), ...(o.token ? { token: o.token } : {}) };
    else throw new UsageError(`${task} needs a file: --file ${task}=path.jsonl`);
    return { task, data, ...(o.limit ? { limit: o.limit } : {}) };
  });
}

/** The seed's zeroshot_acc.csv as a text table: tasks across, the metric row, each plan and its difference. */
export function taskTableText(t: TaskTable): string {
  const base = planScores(t, 0);
  const rows: string[][] = [['metric', ...t.tasks.map((r) => r.metric), 'n/a']];
  t.plans.forEach((p, i) => {
    const s = planScores(t, i);
    rows.push([`${p.name} (${p.blocks} blocks)`, ...s.scores.map((v) => v.toFixed(2)), s.average.toFixed(2)]);
    if (i > 0) rows.push(['difference', ...s.scores.map((v, j) => (v - base.scores[j]! >= 0 ? '+' : '') + (v - base.scores[j]!).toFixed(2)), (s.average - base.average >= 0 ? '+' : '') + (s.average - base.average).toFixed(2)]);
  });
  const detail = t.tasks.map((r) => {
    const err = r.perPlan.map((m) => `${(100 * (m[r.metric]?.stderr ?? NaN)).toFixed(2)}`).join(' / ');
    return `${r.task}: ${r.items} items (${r.split}, ${r.source}), stderr ${err}, ${r.tokens} tokens scored in ${r.seconds.map((s) => s.toFixed(1)).join(' / ')} s`;
  });
  return `${table(['model', ...t.tasks.map((r) => r.task), 'AVE'], rows)}\n${detail.join('\n')}`;
}
