import code from '../../../shaders/backward_rope.wgsl?raw';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { encodeAll, prepare, type Buf, type Dispatch } from '../common';
import { ropeTable, type Llama3RopeScaling } from '../rope';

const shader = { name: 'backward_rope', code };
const WG = 256;

/** As the forward's RopeArgs (same positions, same inv_freq table), with the gradients in place of q and k. */
export interface RopeBackwardArgs {
  /** Tokens (B*T) and tokens per sequence T: token r has position r mod T. */
  rows: number;
  T: number;
  headDim: number;
  nHeads: number;
  nKvHeads: number;
  /** f32 [rows, nHeads*headDim] and [rows, nKvHeads*headDim], in place: gradients w.r.t. the rotated q and k in, pre-RoPE out. */
  dq: Buf;
  dk: Buf;
  theta: number;
  scaling?: Llama3RopeScaling;
}

/** RoPE backward (transposed rotation) on dq and dk in place: two dispatches. */
export class RopeBackward {
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: RopeBackwardArgs) {
    if (a.headDim % 2 !== 0) throw new Error('RopeBackward: headDim must be even');
    const half = a.headDim / 2;
    const table = ropeTable(rt, a.headDim, a.theta, a.scaling);
    this.dispatches = ([[a.dq, a.nHeads], [a.dk, a.nKvHeads]] as const).map(([grad, heads]) => {
      const params = rt.uniform(packParams([{ u32: a.rows }, { u32: heads }, { u32: half }, { u32: a.T }, { u32: 0 }]), 'backward_rope.params');
      return prepare(rt, shader, 'main', { WG }, { 0: params, 1: table, 2: grad }, rt.grid(Math.ceil((a.rows * heads * half) / WG)));
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
