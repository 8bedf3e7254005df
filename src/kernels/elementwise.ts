import code from '../../shaders/elementwise.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { GateActivation } from '../io/families';
import { encodeAll, prepare, type Dispatch } from './common';

const shader = { name: 'elementwise', code };
const WG = 256;

/** A prepared one-pipeline, one-bind-group dispatch over n elements. */
class FlatOp {
  private readonly dispatch: Dispatch;

  /** `buffers` go to bindings 1, 2, ... in order. */
  constructor(rt: GpuRuntime, entry: string, n: number, buffers: GPUBuffer[], constants: Record<string, number> = {}) {
    const params = rt.uniform(packParams([{ u32: n }]), `${entry}.params`);
    this.dispatch = prepare(rt, shader, entry, { WG, ...constants }, { 0: params, ...Object.fromEntries(buffers.map((b, i) => [i + 1, b])) }, rt.grid(Math.ceil(n / WG)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

/** Residual add in place: y += x over n f32 elements. */
export class ResidualAdd extends FlatOp {
  constructor(rt: GpuRuntime, a: { n: number; x: GPUBuffer; y: GPUBuffer }) {
    super(rt, 'add', a.n, [a.x, a.y]);
  }
}

/** The override ACT of lib/gate.wgsl for an activation. */
export const GATE_ACT: Record<GateActivation, number> = { silu: 0, gelu_tanh: 1 };

/** Standalone gated product: h = act(g) * u over n f32 elements (act: silu unless given; h must not alias g or u). */
export class SwiGlu extends FlatOp {
  constructor(rt: GpuRuntime, a: { n: number; g: GPUBuffer; u: GPUBuffer; h: GPUBuffer; activation?: GateActivation }) {
    super(rt, 'swiglu', a.n, [a.g, a.u, a.h], { ACT: GATE_ACT[a.activation ?? 'silu'] });
  }
}
