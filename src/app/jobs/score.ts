/**
 * Scores the blocks with each requested criterion (src/prune/criteria/). A result cached for the
 * same model, calibration and settings is returned as it was computed (cached: true); the
 * calibration set is sampled only on a miss.
 */
import { sampleCalibration, sha256Hex, splitDocuments, type CalibrationSet, type CalibrationSpec } from '../../prune/calibration';
import { criterion as criterionById } from '../../prune/criteria/registry';
import type { JobOptions } from '../../util/job';
import type { CriterionResult } from '../protocol';
import { criterionSettings, readCachedResult, scoreCacheKey, writeCachedResult } from '../score-cache';
import type { LabJob } from './lab-job';

export const scoreJob: LabJob<'score'> = {
  async run(lab, request, ctx) {
    const { criteria, calibration: c, k = 4, protect = [] } = request;
    const { model, info, tokenizer } = lab.loaded();
    const store = lab.host.scoreStore;
    const steps = Math.min(k, model.numLayers - 1);
    const source = criteria.some((id) => criterionById(id).needsData) ? await lab.text(c.text) : undefined;
    const spec: CalibrationSpec = source
      ? { textSha256: await sha256Hex(source.text), description: source.name, n: c.n, t: c.t, seed: c.seed, bos: c.bos }
      : { textSha256: '', description: 'none (data-free)', n: 0, t: 0, seed: c.seed, bos: c.bos };
    let cal: CalibrationSet | undefined;
    const results: CriterionResult[] = [];
    for (const [i, id] of criteria.entries()) {
      const criterion = criterionById(id);
      const report = (done: number, what: string) => ctx.options.onProgress?.(i * 1000 + done, criteria.length * 1000, `${id}: ${what}`);
      // Scores of a quantized model are kept apart (a float load keeps the key it always had).
      const format = info.weightFormat && info.weightFormat !== 'float' ? { weightFormat: info.weightFormat } : {};
      const key = store ? await scoreCacheKey({ fingerprint: info.fingerprint, calibration: spec, criterion: id, settings: { ...criterionSettings(id, { steps, protect }), ...format } }) : '';
      const hit = store ? await readCachedResult(store, key, { criterion: id, numLayers: model.numLayers }) : null;
      if (hit) {
        results.push(hit);
        report(1000, 'cached');
        continue;
      }
      if (source && criterion.needsData) {
        cal ??= sampleCalibration(splitDocuments(source.text), { bosId: tokenizer.bosId ?? 1, encode: (t, special) => tokenizer.encode(t, { addSpecialTokens: special }) }, spec);
      }
      const t0 = performance.now();
      const job: JobOptions = { signal: ctx.signal, onProgress: (done, total, what) => report(Math.round((done / total) * 1000), what) };
      const data = () => {
        if (!cal) throw new Error(`${id} needs calibration data`);
        return { ids: cal.ids, N: cal.spec.n, T: cal.spec.t };
      };
      const r = await criterion.run({ model, data, steps, protect, job });
      const result: CriterionResult = { ...r, criterion: id, seconds: (performance.now() - t0) / 1000, cached: false };
      results.push(result);
      if (store) await writeCachedResult(store, key, result);
    }
    return { type: 'scored', calibration: spec, results };
  },
};
