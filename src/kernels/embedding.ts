import code from '../../shaders/embedding.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { StorageDType } from '../gpu/tensor';
import { weightConstants } from '../quant/formats';
import { encodeAll, prepare, planWeightSlices, type Dispatch } from './common';

const shader = { name: 'embedding', code };
const WG = 256;

export interface EmbeddingArgs {
  /** Number of tokens (B*T). */
  rows: number;
  V: number;
  /** Row width (hidden size). */
  dim: number;
  dtype: StorageDType;
  /** u32 token ids [rows]; ids >= V produce zero rows. */
  ids: GPUBuffer;
  /** Embedding table [V, dim] (f32, f16 packed two per u32, or q8 / q4 rows). */
  table: GPUBuffer;
  /** f32 output [rows, dim]. */
  y: GPUBuffer;
  /** Multiplier of every row (Gemma: sqrt(hidden) in the model dtype); default 1. */
  scale?: number;
  /** Test hook: pretend maxStorageBufferBindingSize is this many bytes. */
  maxBindingBytes?: number;
}

/** Token-embedding gather (times `scale`); a table over the binding limit is bound in row windows (one dispatch each). */
export class Embedding {
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: EmbeddingArgs) {
    const n = a.rows * a.dim;
    const slices = planWeightSlices(rt, a.V, a.dim, a.dtype, a.table, a.maxBindingBytes);
    this.dispatches = slices.map((s, i) => {
      const params = rt.uniform(
        packParams([{ u32: n }, { u32: a.dim }, { u32: s.row0 }, { u32: s.rows }, { u32: a.V }, { u32: i === 0 ? 1 : 0 }, { f32: a.scale ?? 1 }]),
        'embedding.params',
      );
      return prepare(rt, shader, 'main', { WG, ...weightConstants(a.dtype) },
        { 0: params, 1: a.ids, 2: { buffer: a.table, offset: s.offset, size: s.size }, 3: a.y }, rt.grid(Math.ceil(n / WG)));
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
