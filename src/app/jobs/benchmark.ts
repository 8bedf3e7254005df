/** Decode and prefill speed of each requested plan, measured round-robin in one run. */
import { measureSpeeds } from '../../eval/speed';
import type { LabJob } from './lab-job';

export const benchmarkJob: LabJob<'benchmark'> = {
  plans: (r) => r.plans,
  async run(lab, request, ctx) {
    const { model } = lab.loaded();
    return { type: 'benchmarked', results: await measureSpeeds(model, request.plans, request.options, ctx.options) };
  },
};
