/**
 * The pruned model with its LoRA adapters merged on the GPU: for every adapted linear of a kept block,
 * a copy of its weight with W + (alpha / r) B A in the weight's stored dtype (src/kernels/lora-merge.ts);
 * everything else is the loaded model's own tensors. Same shapes and dtypes as the pruned model, so it
 * decodes with the same kernels at the same speed.
 */
import { createStorageBuffer } from '../gpu/buffers';
import type { GpuRuntime } from '../gpu/runtime';
import { bytesPerElement, elementCount, isQuantized } from '../gpu/tensor';
import { LoraMerge } from '../kernels/lora-merge';
import type { ModelWeights } from '../model/weights';
import type { LoraAdapters } from './lora';

export interface MergedWeights {
  weights: ModelWeights;
  /** Frees the merged copies (not the model's tensors). */
  dispose(): void;
}

/** Whether every adapted weight is held in a float dtype (a quantized base keeps its adapters unmerged). */
export function canMerge(base: ModelWeights, lora: LoraAdapters): boolean {
  return lora.adapters.every((ad) => !isQuantized(base.blocks[ad.block]![ad.name].dtype));
}

export function mergeAdapters(rt: GpuRuntime, base: ModelWeights, lora: LoraAdapters): MergedWeights {
  const owned: GPUBuffer[] = [];
  const blocks = base.blocks.map((b) => ({ ...b }));
  const encoder = rt.device.createCommandEncoder({ label: 'lora.merge' });
  const pass = encoder.beginComputePass();
  for (const ad of lora.adapters) {
    const w = base.blocks[ad.block]![ad.name];
    if (isQuantized(w.dtype)) throw new Error(`cannot merge LoRA into ${w.name}: it is held as ${w.dtype}, and merging would need requantizing (the adapters run unmerged)`);
    const out = createStorageBuffer(rt.device, elementCount(w.shape) * bytesPerElement(w.dtype), `${w.name}.merged`);
    owned.push(out);
    new LoraMerge(rt, { N: ad.N, K: ad.K, r: lora.settings.r, scale: lora.scale, dtype: w.dtype, w: w.buffer, a: ad.A.value, b: ad.B.value, out }).encode(pass);
    blocks[ad.block]![ad.name] = { ...w, buffer: out };
  }
  pass.end();
  rt.device.queue.submit([encoder.finish()]);
  return {
    weights: { ...base, blocks },
    dispose: () => owned.forEach((b) => b.destroy()),
  };
}
