/**
 * A task run over several plans (original, current plan, ...), laid out like the seed's
 * zeroshot_acc.csv (src/utils.py convert_json2csv_zeroshot): one column per task with the metric of
 * the seed's table, then AVE; scores in percent. Each plan is a row, followed by its difference to
 * the first plan (the original).
 */
import type { TextTokenizer } from '../io/tokenizer';
import type { LlamaModel } from '../model/model';
import { validatePlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';
import type { MaskMetrics } from '../prune/mask';
import { ChoiceForward } from './choice-forward';
import type { MetricValue, TaskMetrics } from './metrics';
import { runTask } from './run-task';
import { loadTaskItems, type TaskDataDeps, type TaskSpec } from './task-data';
import type { MetricName } from './types';

export interface PlanSpec {
  name: string;
  plan: number[];
}

export interface TaskResult {
  task: string;
  title: string;
  /** The metric of the seed's table for this task. */
  metric: MetricName;
  split: string;
  source: string;
  items: number;
  /** Per plan, every metric the task reports (value and stderr, fractions). */
  perPlan: TaskMetrics[];
  /** Per plan: tokens lm-eval scores, tokens the GPU ran, seconds. */
  tokens: number;
  tokensRun: number[];
  seconds: number[];
}

export interface TaskTable {
  plans: { name: string; blocks: number }[];
  tasks: TaskResult[];
}

/** Runs every task on every plan; a task's items are loaded (and checked) once. */
export async function runTaskTable(model: LlamaModel, tok: TextTokenizer, specs: TaskSpec[], plans: PlanSpec[], deps: TaskDataDeps, job: JobOptions = {}): Promise<TaskTable> {
  if (specs.length === 0) throw new RangeError('no task selected');
  if (plans.length === 0) throw new RangeError('no plan to run');
  for (const p of plans) validatePlan(p.plan, model.numLayers);
  const fwd = new ChoiceForward(model);
  const tasks: TaskResult[] = [];
  const units = specs.length * plans.length;
  try {
    for (const [ti, spec] of specs.entries()) {
      checkCancelled(job.signal);
      const { format, items, source } = await loadTaskItems(spec, {
        ...deps, signal: job.signal,
        onBytes: (done, total) => job.onProgress?.(ti * plans.length * 1000, units * 1000, `${spec.task}: downloading ${(done / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`),
      });
      const result: TaskResult = { task: format.id, title: format.title, metric: format.metric, split: format.split, source, items: items.length, perPlan: [], tokens: 0, tokensRun: [], seconds: [] };
      for (const [pi, p] of plans.entries()) {
        const unit = ti * plans.length + pi;
        const run = await runTask(fwd, tok, items, {
          plan: p.plan, lstripContinuation: format.lstripContinuation, metrics: format.metrics, label: format.id,
          ...(job.signal ? { signal: job.signal } : {}),
          onProgress: (done, total) => job.onProgress?.(unit * 1000 + Math.round((done / total) * 1000), units * 1000, `${format.id} on ${p.name}: ${done} of ${total} items`),
        });
        result.perPlan.push(run.metrics);
        result.tokens = run.tokens;
        result.tokensRun.push(run.tokensRun);
        result.seconds.push(run.seconds);
      }
      tasks.push(result);
    }
  } finally {
    fwd.destroy();
  }
  return { plans: plans.map((p) => ({ name: p.name, blocks: p.plan.length })), tasks };
}

/** The table metric of each task on plan `i`, in percent, and their average. */
export function planScores(t: TaskTable, i: number): { scores: number[]; average: number } {
  const scores = t.tasks.map((r) => 100 * (r.perPlan[i]?.[r.metric] as MetricValue).value);
  return { scores, average: scores.reduce((a, b) => a + b, 0) / scores.length };
}

/** zeroshot_acc.csv's layout with a first column naming each row: tasks + AVE, metrics, then each plan and its difference to the first. */
export function taskTableCsv(t: TaskTable): string {
  const rows: (string | number)[][] = [['model', ...t.tasks.map((r) => r.task), 'AVE'], ['metric', ...t.tasks.map((r) => r.metric), 'n/a']];
  const base = planScores(t, 0);
  t.plans.forEach((p, i) => {
    const s = planScores(t, i);
    rows.push([p.name, ...s.scores, s.average]);
    if (i > 0) rows.push([`${p.name} - ${t.plans[0]!.name}`, ...s.scores.map((v, j) => v - base.scores[j]!), s.average - base.average]);
  });
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The mask's metrics.zero_shot for a table of the original (plan 0) and the pruned model (plan 1). */
export function maskZeroShot(t: TaskTable): NonNullable<MaskMetrics['zero_shot']> | undefined {
  if (t.tasks.length === 0 || t.plans.length < 2) return undefined;
  const value = (r: TaskResult, i: number) => r.perPlan[i]?.[r.metric]?.value ?? null;
  return { tasks: t.tasks.map((r) => ({ task: r.task, metric: r.metric, items: r.items, before: value(r, 0), after: value(r, 1) })) };
}
