/** Perplexity of each requested plan on one evaluation text, by the seed's protocol. */
import { evaluationWindows, perplexityOf } from '../../eval/perplexity';
import { sha256Hex } from '../../prune/calibration';
import type { LabJob } from './lab-job';

export const perplexityJob: LabJob<'perplexity'> = {
  plans: (r) => r.plans,
  async run(lab, request, ctx) {
    const { model, tokenizer } = lab.loaded();
    const { text, name } = await lab.text(request.text);
    const stream = tokenizer.encode(text);
    const windows = evaluationWindows(stream, tokenizer.bosId ?? 1, { window: request.window, bos: request.bos, ...(request.maxWindows ? { maxWindows: request.maxWindows } : {}) });
    const results = [];
    for (const [i, plan] of request.plans.entries()) {
      results.push(await perplexityOf(model, windows, plan, { window: request.window }, {
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress({ done: i * total + done, total: request.plans.length * total, what: `plan ${i + 1} of ${request.plans.length}` }),
      }));
    }
    return { type: 'perplexity', results, textSha256: await sha256Hex(text), textName: name };
  },
};
