/** Runs zero-shot tasks on several plans of a model on the GPU (the engine's `tasks` request). */
import type { TextTokenizer } from '../io/tokenizer';
import type { LlamaModel } from '../model/model';
import { validatePlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';
import { ChoiceForward } from './choice-forward';
import type { PlanSpec, TaskResult, TaskTable } from './results';
import { runTask } from './run-task';
import { loadTaskItems, type TaskDataDeps, type TaskSpec } from './task-data';

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
          plan: p.plan, metrics: format.metrics, label: format.id,
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
