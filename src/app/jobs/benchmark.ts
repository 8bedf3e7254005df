/**
 * Decode and prefill speed of each requested plan, measured round-robin in one run; with healed
 * adapters, also their plan with the adapters merged into copies of the weights (float weights
 * only: a quantized base would need requantizing) and unmerged.
 */
import { measureSpeeds, type SpeedVariant } from '../../eval/speed';
import { canMerge, mergeAdapters, type MergedWeights } from '../../heal/merged-weights';
import { DecodeState } from '../../model/decode';
import { heldAdapters } from '../held-adapters';
import type { LabJob } from './lab-job';

export const LORA_MERGED = 'LoRA merged';
export const LORA_UNMERGED = 'LoRA unmerged';

export const benchmarkJob: LabJob<'benchmark'> = {
  plans: (r) => [...r.plans, ...(r.healed ? [r.healed.plan] : [])],
  async run(lab, request, ctx) {
    const { model } = lab.loaded();
    const healed = request.healed;
    if (!healed) return { type: 'benchmarked', results: await measureSpeeds(model, request.plans, request.options, ctx.options) };
    const held = heldAdapters(model, healed, healed.plan);
    let merged: MergedWeights | undefined;
    let state: DecodeState | undefined;
    try {
      const variants: SpeedVariant[] = [{ plan: healed.plan, label: LORA_UNMERGED, adapters: held.decode }];
      if (canMerge(model.weights, held.lora)) {
        merged = mergeAdapters(model.rt, model.weights, held.lora);
        state = new DecodeState(model.rt, model.config, merged.weights, request.options.promptTokens + request.options.newTokens);
        variants.unshift({ plan: healed.plan, label: LORA_MERGED, state });
      }
      return { type: 'benchmarked', results: await measureSpeeds(model, [...request.plans, ...variants], request.options, ctx.options) };
    } finally {
      state?.destroy();
      merged?.dispose();
    }
  },
};
