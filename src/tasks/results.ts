/**
 * Task results over several plans (original, current plan, ...) and their layout like the seed's
 * zeroshot_acc.csv (src/utils.py convert_json2csv_zeroshot): one column per task with the metric of
 * the seed's table, then AVE; scores in percent; each plan a row, then its difference to the first
 * plan (the original). Plain data: the page, the CLI and the mask use it without the engine.
 */
import type { MaskMetrics } from '../prune/mask';
import type { MetricValue, TaskMetrics } from './metrics';
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
