/**
 * The dispatches of one LLaMA block, prepared once for a set of activation buffers: the one block
 * forward that the batched forward, decode and the backward's recompute all run.
 *   xn = rmsnorm(x); q, k, v = xn Wq^T, xn Wk^T, xn Wv^T; rope(q, k); attn = attention(q, k, v);
 *   x += attn Wo^T; xn = rmsnorm(x); h = silu(xn Wg^T) * (xn Wu^T); x += h Wd^T
 * The residual adds are fused into the output projections' epilogues. With decode-sized M (the
 * matvec kernels) the two RMSNorms are fused into the projections that read them (q, k, v and
 * gate/up read the raw stream x), q, k and v share one dispatch, with a KV cache RoPE is applied by
 * the cache kernels, and a single token's split attention appends it to the cache itself: a decode
 * block is 6 dispatches (q/k/v, split, merge, o, gate/up, down) instead of 13.
 * For the backward (`saves`), nothing the backward reads is fused away or overwritten: see BlockSaves.
 * With an adapter (LoRA), every linear layer's output gets the adapter's path added right after the
 * layer, so nothing that would skip it is fused (no fused norms, one dispatch per projection, gate /
 * up stored apart before SwiGLU).
 * Family differences (src/io/families.ts) are ops added around the same kernels: a projection's bias
 * is a BiasAdd right after it (and its adapter), Qwen3's q/k norms are RmsNorms over each head of the
 * projections' outputs (a.qRaw, a.kRaw) into a.q / a.k before RoPE, a sliding window is the attention
 * kernels' `window`, a gate activation other than silu (Gemma's GELU) runs the MLP unfused (no SwiGLU
 * epilogue), and Gemma's (1 + w) norms are weights made at load (BlockWeights.inputNorm).
 */
import type { GpuRuntime } from '../gpu/runtime';
import { weightBytes } from '../quant/formats';
import type { ModelConfig } from '../io/config';
import { AttentionDecode, AttentionPrefill, type KvCache } from '../kernels/attention';
import type { Encodable, StepBuffer } from '../kernels/common';
import { BiasAdd } from '../kernels/bias';
import { SwiGlu } from '../kernels/elementwise';
import type { FusedNorm } from '../kernels/matmul';
import { createLinear, Matvec, usesMatvec } from '../kernels/matvec';
import { RmsNorm } from '../kernels/rmsnorm';
import { Rope, ropeTable } from '../kernels/rope';
import type { Activations } from './activations';
import type { LinearName } from './backward';
import type { BlockWeights } from './weights';

/**
 * The block forward as the backward recomputes it from the block input (copied into x): the MLP's
 * norm output and gate / up outputs go to these f32 buffers ([rows, hidden], [rows, intermediate] x 2)
 * instead of being fused, and the block stops after SwiGLU (its output, the next block's input, was
 * captured by the forward). It leaves xn = n1, q / k after RoPE, v, attn and lse, x = h (the residual
 * after attention) and h = m = silu(g) u: every activation the block's backward reads.
 */
export interface BlockSaves {
  n2: GPUBuffer;
  gate: GPUBuffer;
  up: GPUBuffer;
}

/** One linear layer as the block forward runs it: y [M, N] holds x W^T (or the residual plus it), x is [M, K]. */
export interface LinearIo {
  name: LinearName;
  M: number;
  N: number;
  K: number;
  x: GPUBuffer;
  y: GPUBuffer;
}

/** A path added to a block's linear layers (LoRA adapters): ops that add it into the layer's output. */
export interface BlockAdapter {
  linear(io: LinearIo): Encodable[];
  /** f32 [rows, intermediate] buffers for gate and up outputs when the MLP runs unfused outside a recompute. */
  mlpScratch(): { gate: GPUBuffer; up: GPUBuffer };
}

/** B sequences of T tokens; with a cache, the tokens continue at step.pos0 (decode / chunked prefill). */
export interface BlockShape {
  B: number;
  T: number;
  step: StepBuffer;
  cache?: KvCache;
  /** Recompute for the backward (no cache). */
  saves?: BlockSaves;
  adapter?: BlockAdapter;
}

export function buildBlockOps(rt: GpuRuntime, c: ModelConfig, w: BlockWeights, a: Activations, s: BlockShape): Encodable[] {
  const M = a.rows;
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  type NormWeight = typeof w.inputNorm;
  // The backward reads the norms' outputs, so a recompute never fuses them; an adapter reads the norm output too.
  const fused = usesMatvec(M) && !s.saves && !s.adapter;
  const adapt = (name: LinearName, N: number, K: number, x: GPUBuffer, y: GPUBuffer): Encodable[] => s.adapter?.linear({ name, M, N, K, x, y }) ?? [];
  const rmsNorm = (weight: NormWeight, y: GPUBuffer) =>
    new RmsNorm(rt, { rows: M, dim: H, eps: c.rmsNormEps, weightF16: weight.dtype === 'f16', x: a.x, w: weight.buffer, y });
  // The ops that normalise x (none when fused) and what the following projections then read.
  const normOps = (weight: NormWeight): Encodable[] => (fused ? [] : [rmsNorm(weight, a.xn)]);
  const input = (weight: NormWeight): { x: GPUBuffer; norm?: FusedNorm } =>
    fused ? { x: a.x, norm: { weight: weight.buffer, dtype: weight.dtype, eps: c.rmsNormEps } } : { x: a.xn };
  const heads = { B: s.B, T: s.T, nHeads: c.numHeads, nKvHeads: c.numKvHeads, headDim: c.headDim, window: c.windows[w.index] ?? null };
  const bias = (name: 'q' | 'k' | 'v' | 'o', N: number, y: GPUBuffer): Encodable[] => {
    const b = w.bias[name];
    return b ? [new BiasAdd(rt, { rows: M, N, bias: b, y })] : [];
  };
  // Qwen3: the projections write q and k before their per-head norms, which then write a.q and a.k.
  if (c.qkNorm && (!a.qRaw || !a.kRaw || !w.qNorm || !w.kNorm)) throw new Error('buildBlockOps: q/k norms need their weights and activations (createActivations)');
  const qOut = c.qkNorm ? a.qRaw! : a.q;
  const kOut = c.qkNorm ? a.kRaw! : a.k;
  const headNorm = (weight: NormWeight, nHeads: number, x: GPUBuffer, y: GPUBuffer) =>
    new RmsNorm(rt, { rows: M * nHeads, dim: c.headDim, eps: c.rmsNormEps, weightF16: weight.dtype === 'f16', x, w: weight.buffer, y });
  const qkNormOps: Encodable[] = c.qkNorm ? [headNorm(w.qNorm!, c.numHeads, qOut, a.q), headNorm(w.kNorm!, c.numKvHeads, kOut, a.k)] : [];
  // With a cache (generation), RoPE happens inside the cache write and the split attention; the batched
  // prefill rotates q and k in place first.
  const ropeOps: Encodable[] = s.cache ? [] : [new Rope(rt, {
    rows: M, T: s.T, headDim: c.headDim, nHeads: c.numHeads, nKvHeads: c.numKvHeads,
    q: a.q, k: a.k, step: s.step, theta: c.ropeTheta, ...ropeScaling(c),
  })];
  if (s.cache && s.saves) throw new Error('buildBlockOps: the backward recompute runs without a KV cache');
  if (!s.cache && !a.lse) throw new Error('buildBlockOps: batched attention needs activations with lse (createActivations batched)');
  const attention = s.cache
    ? new AttentionDecode(rt, {
      ...heads, q: a.q, k: a.k, v: a.v, cache: s.cache, out: a.attn, step: s.step,
      rope: { invFreq: ropeTable(rt, c.headDim, c.ropeTheta, ropeScaling(c).scaling) },
    })
    : new AttentionPrefill(rt, { ...heads, q: a.q, k: a.k, v: a.v, out: a.attn, lse: a.lse! });
  const mlp: Encodable[] = s.saves || s.adapter || c.activation !== 'silu' ? unfusedMlp() : [
    ...normOps(w.postNorm),
    createLinear(rt, { M, N: I, K: H, dtype: w.gate.dtype, ...input(w.postNorm), w: w.gate.buffer, wUp: w.up.buffer, y: a.h, epilogue: 'swiglu' }),
    createLinear(rt, { M, N: H, K: I, dtype: w.down.dtype, x: a.h, w: w.down.buffer, y: a.x, epilogue: 'residual' }),
  ];
  /** Norm, gate and up stored apart, SwiGLU; the recompute stops there (the block output was captured). */
  function unfusedMlp(): Encodable[] {
    const n2 = s.saves?.n2 ?? a.xn;
    const { gate, up } = s.saves ?? s.adapter?.mlpScratch() ?? { gate: a.gate!, up: a.up! };
    return [
      rmsNorm(w.postNorm, n2),
      createLinear(rt, { M, N: I, K: H, dtype: w.gate.dtype, x: n2, w: w.gate.buffer, y: gate }),
      ...adapt('gate', I, H, n2, gate),
      createLinear(rt, { M, N: I, K: H, dtype: w.up.dtype, x: n2, w: w.up.buffer, y: up }),
      ...adapt('up', I, H, n2, up),
      new SwiGlu(rt, { n: M * I, g: gate, u: up, h: a.h, activation: c.activation }),
      ...(s.saves ? [] : [
        createLinear(rt, { M, N: H, K: I, dtype: w.down.dtype, x: a.h, w: w.down.buffer, y: a.x, epilogue: 'residual' }),
        ...adapt('down', H, I, a.h, a.x),
      ]),
    ];
  }
  return [
    ...normOps(w.inputNorm),
    ...qkvOps(rt, { M, qDim, kvDim, K: H, w, a, out: { q: qOut, k: kOut, v: a.v }, input: input(w.inputNorm), adapt: s.adapter ? adapt : undefined }),
    ...bias('q', qDim, qOut),
    ...bias('k', kvDim, kOut),
    ...bias('v', kvDim, a.v),
    ...qkNormOps,
    ...ropeOps,
    attention,
    createLinear(rt, { M, N: H, K: qDim, dtype: w.o.dtype, x: a.attn, w: w.o.buffer, y: a.x, epilogue: 'residual' }),
    ...adapt('o', H, qDim, a.attn, a.x),
    ...bias('o', H, a.x),
    ...mlp,
  ];
}

/**
 * q, k and v from the same input: one matvec dispatch for all three where the kernel allows it (decode-sized
 * M, one weight dtype, widths multiples of 4, each weight within one binding, no adapter), else one
 * linear each, each followed by its adapter's ops.
 */
function qkvOps(
  rt: GpuRuntime,
  o: {
    M: number; qDim: number; kvDim: number; K: number; w: BlockWeights; a: Activations; input: { x: GPUBuffer; norm?: FusedNorm };
    /** Where q, k and v go (a.q / a.k, or a.qRaw / a.kRaw before q/k norms). */
    out: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer };
    adapt?: (name: LinearName, N: number, K: number, x: GPUBuffer, y: GPUBuffer) => Encodable[];
  },
): Encodable[] {
  const { M, qDim, kvDim, K, w, input, adapt, out } = o;
  const bytes = (N: number) => weightBytes(w.q.dtype, [N, K]);
  const oneDispatch = !adapt && usesMatvec(M) && w.k.dtype === w.q.dtype && w.v.dtype === w.q.dtype && qDim % 4 === 0 && kvDim % 4 === 0 &&
    bytes(qDim) <= rt.device.limits.maxStorageBufferBindingSize;
  if (oneDispatch) {
    return [new Matvec(rt, {
      M, N: qDim, K, dtype: w.q.dtype, ...input, w: w.q.buffer, y: out.q,
      more: [{ w: w.k.buffer, y: out.k, N: kvDim }, { w: w.v.buffer, y: out.v, N: kvDim }],
    })];
  }
  const proj = (name: 'q' | 'k' | 'v', N: number, y: GPUBuffer): Encodable[] => [
    createLinear(rt, { M, N, K, dtype: w[name].dtype, ...input, w: w[name].buffer, y }),
    ...(adapt?.(name, N, K, input.x, y) ?? []),
  ];
  return [...proj('q', qDim, out.q), ...proj('k', kvDim, out.k), ...proj('v', kvDim, out.v)];
}

/** The config's llama3 rope_scaling in the Rope kernel's argument form (none: {}). */
export function ropeScaling(c: ModelConfig) {
  const r = c.ropeScaling;
  if (!r) return {};
  return {
    scaling: {
      factor: r.factor,
      low_freq_factor: r.lowFreqFactor,
      high_freq_factor: r.highFreqFactor,
      original_max_position_embeddings: r.originalMaxPositionEmbeddings,
    },
  };
}
