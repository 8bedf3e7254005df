/**
 * The weight-format comparison (Speed panel, `bench --compare-weights`): the same plans' speed in
 * each chosen format. The loaded model is measured as it is; every other format is read again from
 * the loaded model's source into a copy beside it, measured, and freed before the next, so the user's
 * model stays loaded and untouched. Formats that would not fit beside it are refused before anything
 * is read; a format that fails later is reported in its row and the others are still measured.
 */
import { measureSpeeds, type SpeedOptions } from '../../eval/speed';
import type { FormatComparison, FormatSpeed } from '../../eval/format-comparison';
import { inspectCheckpoint, type CheckpointIndex } from '../../io/checkpoint';
import { GpuMemoryError } from '../../io/errors';
import { WEIGHT_FORMATS } from '../../quant/formats';
import { comparisonPlan, type ComparisonFit } from '../../quant/memory-plan';
import type { LlamaModel } from '../../model/model';
import type { LabEngine } from '../lab';
import type { LabJob } from './lab-job';

/** Which formats a comparison with these speed options can load beside the loaded model. */
export function comparisonFits(lab: LabEngine, options: SpeedOptions): ComparisonFit[] {
  const { model, info, weights } = lab.loaded();
  return comparisonPlan(model.config, lab.rt.device.limits, { bytes: info.bytesOnGpu, format: weights.format, embeddings: weights.embeddings }, { context: options.promptTokens + options.newTokens, prompt: options.promptTokens });
}

export const comparePlanJob: LabJob<'compare-plan'> = {
  run: async (lab, request) => ({ type: 'compare-planned', fits: comparisonFits(lab, request.options) }),
};

export const compareFormatsJob: LabJob<'compare-formats'> = {
  plans: (r) => r.plans,
  async run(lab, request, ctx) {
    const loaded = lab.loaded();
    const formats = WEIGHT_FORMATS.map((f) => f.id).filter((f) => request.formats.includes(f));
    if (formats.length === 0) throw new RangeError('choose at least one weight format to compare');
    const fits = comparisonFits(lab, request.options);
    const refused = fits.filter((f) => formats.includes(f.format) && !f.fits);
    if (refused.length) throw new GpuMemoryError(`the comparison cannot load ${refused.map((f) => `${f.format} (${f.reason})`).join(', ')} beside the loaded model; nothing was measured`);
    let index: CheckpointIndex | undefined;
    const out: FormatSpeed[] = [];
    for (const [n, format] of formats.entries()) {
      const report = (done: number, what: string) => ctx.options.onProgress?.(n * 1000 + Math.round(done * 1000), formats.length * 1000, `${format}: ${what}`);
      const measure = (model: LlamaModel) => measureSpeeds(model, request.plans, request.options, {
        signal: ctx.signal, onProgress: (done, total, what) => report(0.5 + (0.5 * done) / total, what),
      });
      if (format === loaded.weights.format) {
        out.push({ format, loaded: true, bytesOnGpu: loaded.info.bytesOnGpu, results: await measure(loaded.model) });
        continue;
      }
      let copy: LlamaModel | undefined;
      try {
        index ??= await inspectCheckpoint(loaded.source, ctx.signal);
        copy = await lab.readModel(index, { format, embeddings: loaded.weights.embeddings }, ctx.signal, (p) => report((0.5 * p.done) / Math.max(1, p.total), `loading ${p.what}`));
        if (copy.checkpoint.fingerprint !== loaded.info.fingerprint) throw new Error('the checkpoint at the loaded model\'s source has changed since it was loaded: load it again to compare');
        out.push({ format, loaded: false, bytesOnGpu: copy.checkpoint.bytesOnGpu, results: await measure(copy) });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        out.push({ format, loaded: false, bytesOnGpu: copy?.checkpoint.bytesOnGpu ?? 0, results: [], error: err instanceof Error ? err.message : String(err) });
      } finally {
        copy?.dispose();
      }
    }
    const comparison: FormatComparison = { plans: request.plans, options: request.options, embeddings: loaded.weights.embeddings ?? false, formats: out };
    return { type: 'compared', comparison };
  },
};
