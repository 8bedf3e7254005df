/**
 * The Speed panel's weight-format comparison: which formats fit beside the loaded model (a query of
 * the engine's memory plan, no job) and the comparison job itself, whose result is kept in the model's
 * record. A failure or a cancel leaves the loaded model and the last comparison as they were.
 */
import type { SpeedOptions } from '../eval/speed';
import type { WeightFormat } from '../quant/formats';
import type { ComparisonFit } from '../quant/memory-plan';
import { cancelled, engine, message, run } from './lab-actions';
import { currentRecord, keptBlocks, planKey, stillLoaded, useLab } from './store';

/** Which formats a comparison with these speed options can load beside the loaded model; null when the engine cannot say. */
export async function comparisonFits(options: SpeedOptions): Promise<ComparisonFit[] | null> {
  try {
    return (await engine().comparePlan({ options }).result).fits;
  } catch {
    return null;
  }
}

/** Measures the original and the current plan in each of `formats`. */
export async function runFormatComparison(formats: WeightFormat[]): Promise<void> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) return;
  const L = model.numLayers;
  const full = keptBlocks(L, []);
  const current = keptBlocks(L, currentRecord(s).plan.removed);
  const plans = planKey(current) === planKey(full) ? [full] : [full, current];
  try {
    const { comparison } = await run('compare', (c) => c.compareFormats({ formats, plans, options: s.settings.speed }));
    if (!stillLoaded(model)) return;
    useLab.getState().updateRecord((r) => ({ ...r, formats: comparison }));
  } catch (err) {
    const kept = 'The loaded model and the last comparison are as they were.';
    useLab.getState().setError('compare', cancelled(err) ? `The format comparison was cancelled. ${kept}` : `${message(err).replace(/[.\s]*$/, '.')} ${kept}`);
  }
}
