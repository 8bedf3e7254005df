/** Perplexity of each requested plan (and of healed adapters on theirs) on one evaluation text, by the seed's protocol. */
import { evaluationWindows, perplexityOf, windowCount } from '../../eval/perplexity';
import { adapterNll } from '../../heal/adapter-nll';
import { sha256Hex } from '../../prune/calibration';
import { heldAdapters } from '../held-adapters';
import type { LabJob } from './lab-job';

export const perplexityJob: LabJob<'perplexity'> = {
  plans: (r) => [...r.plans, ...(r.healed ? [r.healed.plan] : [])],
  async run(lab, request, ctx) {
    const { model, tokenizer } = lab.loaded();
    const { text, name } = await lab.text(request.text);
    const stream = tokenizer.encode(text);
    const windows = evaluationWindows(stream, tokenizer.bosId ?? 1, { window: request.window, bos: request.bos, ...(request.maxWindows ? { maxWindows: request.maxWindows } : {}) });
    const windowsAvailable = windowCount(stream, tokenizer.bosId ?? 1, { window: request.window, bos: request.bos });
    const results = [];
    const runs = request.plans.length + (request.healed ? 1 : 0);
    const options = (i: number) => ({
      signal: ctx.signal,
      onProgress: (done: number, total: number) => ctx.progress({ done: i * total + done, total: runs * total, what: i < request.plans.length ? `plan ${i + 1} of ${runs}` : 'pruned + LoRA' }),
    });
    for (const [i, plan] of request.plans.entries()) {
      const r = await perplexityOf(model, windows, plan, { window: request.window }, options(i));
      results.push({ ...r, windowsAvailable });
    }
    let healed;
    if (request.healed) {
      const nll = adapterNll(model, heldAdapters(model, request.healed, request.healed.plan).lora, request.healed.plan, request.window);
      try {
        healed = { ...(await perplexityOf(model, windows, request.healed.plan, { window: request.window }, options(request.plans.length), nll.nllOf)), windowsAvailable };
      } finally {
        nll.dispose();
      }
    }
    return { type: 'perplexity', results, textSha256: await sha256Hex(text), textName: name, ...(healed ? { healed } : {}) };
  },
};
