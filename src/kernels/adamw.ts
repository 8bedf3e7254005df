/** AdamW on f32 parameters (shaders/adamw.wgsl), torch.optim.AdamW's update with per-step hyperparameters. */
import code from '../../shaders/adamw.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { encodeAll, prepare, type Buf, type Dispatch } from './common';

const shader = { name: 'adamw', code };
const WG = 256;

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The uniform of one step t (1-based): bias corrections in float64, then f32. */
export function adamWParams(h: AdamWHyper, t: number, gradScale: number): ArrayBuffer {
  const bc1 = 1 - h.beta1 ** t;
  const sqrtBc2 = Math.sqrt(1 - h.beta2 ** t);
  return packParams([
    { f32: h.lr }, { f32: h.beta1 }, { f32: h.beta2 }, { f32: h.eps }, { f32: h.weightDecay },
    { f32: bc1 }, { f32: sqrtBc2 }, { f32: gradScale }, { f32: 1 - h.beta1 }, { f32: 1 - h.beta2 },
  ]);
}

/**
 * One AdamW update of n parameters w with gradient grad and moments m, v (zero before step 1).
 * The uniform `params` (adamWParams) is rewritten by the caller before each step and may be shared by
 * the ops of all tensors, so one AdamW op per tensor serves every step.
 */
export class AdamW {
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: { n: number; params: GPUBuffer; grad: Buf; w: Buf; m: Buf; v: Buf }) {
    const count = rt.uniform(packParams([{ u32: a.n }]), 'adamw.count');
    this.dispatch = prepare(rt, shader, 'adamw', { WG }, { 0: a.params, 1: a.grad, 2: a.w, 3: a.m, 4: a.v, 5: count }, rt.grid(Math.ceil(a.n / WG)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
