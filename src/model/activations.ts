/** The f32 activation buffers of one forward shape (rows = B*T tokens), shared by all blocks. */
import { createStorageBuffer } from '../gpu/buffers';
import type { GpuRuntime } from '../gpu/runtime';
import type { ModelConfig } from '../io/config';

export interface Activations {
  rows: number;
  /** Residual stream [rows, hidden]: blocks add into it in place. */
  x: GPUBuffer;
  /** Normalised residual [rows, hidden]. */
  xn: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** Attention output [rows, heads*headDim]. */
  attn: GPUBuffer;
  /** Logsumexp of the attention scores [rows, heads]: written by the batched (cache-free) attention, which the backward reads; absent for decode. */
  lse?: GPUBuffer;
  /** SwiGLU activations [rows, intermediate]. */
  h: GPUBuffer;
  /** Qwen3: q and k before their per-head RMSNorm (the projections' outputs, biases added). */
  qRaw?: GPUBuffer;
  kRaw?: GPUBuffer;
  /** A gate activation other than silu (Gemma) runs the MLP unfused: gate and up outputs [rows, intermediate]. */
  gate?: GPUBuffer;
  up?: GPUBuffer;
}

/** `batched`: the shape runs the cache-free attention (batched forward, the backward's recompute), which also writes lse. */
export function createActivations(rt: GpuRuntime, c: ModelConfig, rows: number, label: string, batched = false): Activations {
  const f32 = (features: number, name: string) => createStorageBuffer(rt.device, rows * features * 4, `${label}.${name}`);
  return {
    rows,
    x: f32(c.hiddenSize, 'x'),
    xn: f32(c.hiddenSize, 'xn'),
    q: f32(c.numHeads * c.headDim, 'q'),
    k: f32(c.numKvHeads * c.headDim, 'k'),
    v: f32(c.numKvHeads * c.headDim, 'v'),
    attn: f32(c.numHeads * c.headDim, 'attn'),
    lse: batched ? f32(c.numHeads, 'lse') : undefined,
    h: f32(c.intermediateSize, 'h'),
    ...(c.qkNorm ? { qRaw: f32(c.numHeads * c.headDim, 'q_raw'), kRaw: f32(c.numKvHeads * c.headDim, 'k_raw') } : {}),
    ...(c.activation !== 'silu' ? { gate: f32(c.intermediateSize, 'gate'), up: f32(c.intermediateSize, 'up') } : {}),
  };
}

/** Bytes of one batched shape's activations, for memory estimates. */
export function activationBytes(c: ModelConfig, rows: number): number {
  const qkRaw = c.qkNorm ? (c.numHeads + c.numKvHeads) * c.headDim : 0;
  const gateUp = c.activation !== 'silu' ? 2 * c.intermediateSize : 0;
  return rows * 4 * (2 * c.hiddenSize + 2 * (c.numHeads + c.numKvHeads) * c.headDim + c.numHeads + c.intermediateSize + qkRaw + gateUp);
}
