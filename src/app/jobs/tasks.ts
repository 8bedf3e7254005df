/** Zero-shot tasks on each requested plan (src/tasks/): items loaded once per task, scored on the GPU. */
import { runTaskTable } from '../../tasks/run-tasks';
import type { LabJob } from './lab-job';

export const tasksJob: LabJob<'tasks'> = {
  plans: (r) => r.plans.map((p) => p.plan),
  async run(lab, request, ctx) {
    const { model, tokenizer } = lab.loaded();
    const deps = { embeddedFile: (path: string, signal?: AbortSignal) => lab.host.embeddedFile(path, signal) };
    return { type: 'tasks', table: await runTaskTable(model, tokenizer, request.tasks, request.plans, deps, ctx.options) };
  },
};
