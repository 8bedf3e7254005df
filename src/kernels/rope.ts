import code from '../../shaders/rope.wgsl?raw';
import { uploadBuffer } from '../gpu/buffers';
import { deviceBuffer } from '../gpu/device-buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { encodeAll, prepare, type Dispatch, type StepBuffer } from './common';

const shader = { name: 'rope', code };
const WG = 256;

/** config.json rope_scaling with rope_type "llama3" (LLaMA 3.1+). */
export interface Llama3RopeScaling {
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/**
 * inv_freq[i] = 1 / theta^(2i/D) for i < D/2, with HF `_compute_llama3_parameters` applied when
 * `scaling` is given. Computed in float64 (the GPU table is its f32 rounding).
 */
export function ropeInvFreq(headDim: number, theta: number, scaling?: Llama3RopeScaling): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / headDim);
  if (!scaling) return inv;
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: oldCtx } = scaling;
  const lowWavelen = oldCtx / low;
  const highWavelen = oldCtx / high;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i]!;
    if (wavelen > lowWavelen) {
      inv[i] = inv[i]! / factor;
    } else if (wavelen >= highWavelen) {
      const smooth = (oldCtx / wavelen - low) / (high - low);
      inv[i] = ((1 - smooth) * inv[i]!) / factor + smooth * inv[i]!;
    }
  }
  return inv;
}

/**
 * The inv_freq table (f32 [headDim/2]) for a configuration: uploaded once per device and shared by
 * every RoPE op and every block's decode ops (a few hundred bytes, never freed before the device).
 */
export function ropeTable(rt: GpuRuntime, headDim: number, theta: number, scaling?: Llama3RopeScaling): GPUBuffer {
  const key = `rope.inv_freq ${JSON.stringify([headDim, theta, scaling ?? null])}`;
  return deviceBuffer(rt.device, key, () => uploadBuffer(rt.device, new Float32Array(ropeInvFreq(headDim, theta, scaling)), 'rope.inv_freq'));
}

export interface RopeArgs {
  /** Tokens in this call (B*T) and tokens per sequence T: token r has position step.pos0 + (r mod T). */
  rows: number;
  T: number;
  headDim: number;
  nHeads: number;
  nKvHeads: number;
  /** q [rows, nHeads*headDim] and k [rows, nKvHeads*headDim], rotated in place. */
  q: GPUBuffer;
  k: GPUBuffer;
  step: StepBuffer;
  theta: number;
  scaling?: Llama3RopeScaling;
}

/** RoPE on q and k in place (two dispatches); positions come from the shared step buffer. */
export class Rope {
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: RopeArgs) {
    if (a.headDim % 2 !== 0) throw new Error('RoPE needs an even head dimension');
    const table = ropeTable(rt, a.headDim, a.theta, a.scaling);
    const half = a.headDim / 2;
    this.dispatches = ([[a.q, a.nHeads], [a.k, a.nKvHeads]] as const).map(([buffer, heads]) => {
      const params = rt.uniform(packParams([{ u32: a.rows }, { u32: a.T }, { u32: heads }, { u32: half }]), 'rope.params');
      return prepare(rt, shader, 'main', { WG }, { 0: params, 1: a.step.buffer, 2: table, 3: buffer }, rt.grid(Math.ceil((a.rows * heads * half) / WG)));
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
