/**
 * A LoRA adapter merged into a copy of its layer's weight on the GPU (shaders/lora_merge.wgsl):
 * out = W + scale * B A in W's stored dtype (f32, or packed f16), so the merged model has the pruned
 * model's shapes, dtypes and kernels.
 */
import code from '../../shaders/lora_merge.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { StorageDType } from '../gpu/tensor';
import { encodeAll, prepare, type Buf, type Dispatch } from './common';

const shader = { name: 'lora_merge', code };
const WG = 256;

export class LoraMerge {
  private readonly dispatch: Dispatch;

  /** w and out: [N, K] in `dtype` (distinct buffers); a: f32 [r, K]; b: f32 [N, r]. */
  constructor(rt: GpuRuntime, o: { N: number; K: number; r: number; scale: number; dtype: StorageDType; w: Buf; a: Buf; b: Buf; out: Buf }) {
    const words = o.dtype === 'f16' ? Math.ceil((o.N * o.K) / 2) : o.N * o.K;
    if (words * 4 > rt.device.limits.maxStorageBufferBindingSize) throw new RangeError(`LoRA merge: a [${o.N}, ${o.K}] weight exceeds one binding`);
    const p = rt.uniform(packParams([{ u32: o.N }, { u32: o.K }, { u32: o.r }, { f32: o.scale }]), 'lora_merge.params');
    this.dispatch = prepare(rt, shader, 'merge', { WG, W_F16: o.dtype === 'f16' }, { 0: p, 1: o.w, 2: o.a, 3: o.b, 4: o.out }, rt.grid(Math.ceil(words / WG)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
