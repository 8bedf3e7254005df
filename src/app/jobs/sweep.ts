/**
 * The frontier sweep: every criterion's plan for k = 0..K (the registry's selection), each distinct
 * plan's held-out perplexity once (the residual prefix reused, ../../eval/prefix-reuse.ts) unless
 * the caller already holds it, and its memory-bound ideal speedup.
 */
import { evaluationWindows, windowCount } from '../../eval/perplexity';
import { perplexitiesSharingPrefix } from '../../eval/prefix-reuse';
import { weightBytesPerToken } from '../../eval/speed';
import { planWithout } from '../../model/plan';
import { sha256Hex } from '../../prune/calibration';
import { sweepK, sweepLines } from '../../prune/criteria/sweep-plans';
import { resolveProtected } from '../../prune/select';
import { removedKey, type SweepPlanResult } from '../sweep';
import type { LabJob } from './lab-job';

export const sweepJob: LabJob<'sweep'> = {
  async run(lab, r, ctx) {
    const started = performance.now();
    const { model, tokenizer } = lab.loaded();
    const L = model.numLayers;
    const protect = resolveProtected(r.protect, L);
    const lines = sweepLines(r.criteria, protect, L, r.maxK);
    const distinct = new Map<string, number[]>();
    for (const line of lines) for (const p of line.points) distinct.set(removedKey(p.removed), p.removed);
    const known = new Map((r.known ?? []).map((x) => [x.kept.join(','), x.result]));
    const { text, name } = await lab.text(r.text);
    const stream = tokenizer.encode(text);
    const windows = evaluationWindows(stream, tokenizer.bosId ?? 1, { window: r.window, bos: r.bos, ...(r.maxWindows ? { maxWindows: r.maxWindows } : {}) });
    // As the perplexity job records it: how many windows the text holds beside how many were run.
    const windowsAvailable = windowCount(stream, tokenizer.bosId ?? 1, { window: r.window, bos: r.bos });
    const all = [...distinct.values()].map((removed) => ({ removed, kept: planWithout(L, removed) }));
    const todo = all.filter((p) => !known.has(p.kept.join(',')));
    const fresh = todo.length
      ? await perplexitiesSharingPrefix(model, windows, todo.map((p) => p.kept), { window: r.window }, ctx.options)
      : { results: [], blockRuns: 0, blockRunsWithoutReuse: 0 };
    const computed = new Map(todo.map((p, i) => [p.kept.join(','), { ...fresh.results[i]!, windowsAvailable }]));
    const fullBytes = weightBytesPerToken(model, model.fullPlan());
    const plans: SweepPlanResult[] = all.map((p) => {
      const k = p.kept.join(',');
      return { ...p, ppl: computed.get(k) ?? known.get(k)!, idealSpeedup: fullBytes / weightBytesPerToken(model, p.kept), cached: !computed.has(k) };
    });
    return {
      type: 'swept',
      sweep: {
        textName: name, textSha256: await sha256Hex(text), window: r.window, bos: r.bos, windows: windows.length, protect,
        maxK: sweepK(L, protect, r.maxK), lines, plans,
        blockRuns: fresh.blockRuns, blockRunsWithoutReuse: fresh.blockRunsWithoutReuse, seconds: (performance.now() - started) / 1000,
      },
    };
  },
};
