import code from '../../../shaders/backward_swiglu.wgsl?raw';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import type { GateActivation } from '../../io/families';
import { encodeAll, prepare, type Buf, type Dispatch } from '../common';
import { GATE_ACT } from '../elementwise';

const shader = { name: 'backward_swiglu', code };
const WG = 256;

export interface SwiGluBackwardArgs {
  /** Elements (rows * intermediate size). */
  n: number;
  /** Gate and up projection outputs of the forward pass, f32. */
  g: Buf;
  u: Buf;
  /** Gradient of h = silu(g) * u, f32. */
  dh: Buf;
  /** Outputs; omit both to write dg into g and du into u (in place). */
  dg?: Buf;
  du?: Buf;
  /** The forward's act (default silu). */
  activation?: GateActivation;
}

/** Gated-MLP backward: dg = dh u act'(g), du = dh act(g) (act: silu, or Gemma's GELU tanh). One elementwise dispatch. */
export class SwiGluBackward {
  private readonly dispatch: Dispatch;

  constructor(rt: GpuRuntime, a: SwiGluBackwardArgs) {
    const params = rt.uniform(packParams([{ u32: a.n }]), 'backward_swiglu.params');
    const grid = rt.grid(Math.ceil(a.n / WG));
    const constants = { WG, ACT: GATE_ACT[a.activation ?? 'silu'] };
    if (a.dg && a.du) {
      this.dispatch = prepare(rt, shader, 'main', constants, { 0: params, 1: a.g, 2: a.u, 3: a.dh, 4: a.dg, 5: a.du }, grid);
    } else if (!a.dg && !a.du) {
      this.dispatch = prepare(rt, shader, 'in_place', constants, { 0: params, 3: a.dh, 6: a.g, 7: a.u }, grid);
    } else {
      throw new Error('SwiGluBackward: give both dg and du, or neither (in place)');
    }
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
