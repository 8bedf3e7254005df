/**
 * The LoRA adapters that generate and benchmark requests name (LoraWeights), on the GPU in inference
 * mode (no dropout): one set per model, uploaded again only when the request names another key.
 */
import { LoraAdapters } from '../heal/lora';
import type { DecodeAdapters } from '../model/decode';
import type { LlamaModel } from '../model/model';
import type { LoraWeights } from './protocol';

export interface HeldAdapters {
  lora: LoraAdapters;
  /** A stable hook, so the decoder keeps its op sets across requests with the same adapters. */
  decode: DecodeAdapters;
}

const held = new WeakMap<LlamaModel, { key: string } & HeldAdapters>();

export function heldAdapters(model: LlamaModel, values: LoraWeights, plan: readonly number[]): HeldAdapters {
  if (values.plan.join(',') !== plan.join(',')) throw new Error(`the adapters were trained for blocks [${values.plan}], not [${plan}]`);
  const h = held.get(model);
  if (h?.key === values.key) return h;
  const targets = [...new Set(values.adapters.map((a) => a.name))];
  const lora = new LoraAdapters(model.rt, model.config, values.plan, { r: values.r, alpha: values.alpha, dropout: 0, seed: 0, targets });
  try {
    for (const a of values.adapters) lora.write(a.block, a.name, a.A, a.B);
  } catch (err) {
    lora.dispose();
    throw err;
  }
  h?.lora.dispose();
  const next = { key: values.key, lora, decode: (rows: number) => lora.forShape(rows, false) };
  held.set(model, next);
  return next;
}
