/**
 * Per-window NLL of a plan with LoRA adapters in evaluation mode (no dropout), for perplexityOf:
 * batched forwards of their own, one per batch shape, freed by dispose.
 */
import type { NllOf } from '../eval/perplexity';
import { BatchForward } from '../model/batch-forward';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import type { LoraAdapters } from './lora';

export function adapterNll(model: LlamaModel, lora: LoraAdapters, plan: BlockPlan, T: number): { nllOf: NllOf; dispose(): void } {
  const shapes = new Map<number, BatchForward>();
  return {
    nllOf: (ids, B) => {
      let f = shapes.get(B);
      if (!f) shapes.set(B, (f = new BatchForward(model.rt, model.config, model.weights, B, T, lora.forShape(B * T, false))));
      f.setTokens(ids);
      return f.run({ plan });
    },
    dispose: () => {
      for (const f of shapes.values()) f.destroy();
      shapes.clear();
    },
  };
}
