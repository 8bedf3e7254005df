/**
 * The backward pass of a LLaMA over one batch (B sequences of T tokens, all rows in one batch):
 * forward, loss = mean next-token cross-entropy, then the blocks in reverse, each yielding dL/dx
 * of its input. Frozen weights: the pass computes activation gradients only; what a layer's weight
 * gradient is used for is up to a GradientConsumer (the Taylor criterion's fused |W * dW| scores,
 * LoRA's adapter gradients), whose ops run in the block's pass right after the layer's dx.
 *
 * Memory: the forward keeps only each block's input (BatchForward captures). Each block is
 * recomputed from its input just before its backward (buildBlockOps with BlockSaves, the same block
 * forward as every other pass), in one command encoder per block. The LM head runs in row chunks
 * of at most logitsBudgetBytes of f32 logits; see backwardMemoryEstimate.
 *
 * Per block, order and buffer reuse follow src/kernels/backward/README.md; the recompute reuses the
 * BatchForward's activation buffers (free once the forward is done):
 *   act.xn = n1, act.q/k = post-RoPE q/k, act.v = v, act.attn = a, act.lse, act.x = h (mid-block
 *   residual), act.h = m = silu(g) u; own buffers: n2, g, u and the gradients.
 */
import { createStorageBuffer } from '../gpu/buffers';
import { BufferLedger } from '../gpu/ledger';
import type { GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { blockTensorSpecs, type ModelConfig } from '../io/config';
import { AttentionBackward } from '../kernels/backward/attention';
import { CrossEntropyBackward } from '../kernels/backward/cross-entropy';
import { LinearBackward } from '../kernels/backward/linear';
import { RmsNormBackward } from '../kernels/backward/rmsnorm';
import { RopeBackward } from '../kernels/backward/rope';
import { SwiGluBackward } from '../kernels/backward/swiglu';
import { StepBuffer, type Encodable } from '../kernels/common';
import { createLinear } from '../kernels/matvec';
import { RmsNorm } from '../kernels/rmsnorm';
import { activationBytes, type Activations } from './activations';
import { BatchForward } from './batch-forward';
import { buildBlockOps, ropeScaling, type BlockAdapter, type BlockSaves } from './block-ops';
import type { LlamaModel } from './model';
import { fullPlan, validatePlan, type BlockPlan } from './plan';
import type { BlockWeights } from './weights';

/** The linear layers of a block (BlockWeights keys). */
export type LinearName = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
/** The block's RMSNorms: the two of LLaMA, and Qwen3's per-head q / k norms. */
export type NormName = 'inputNorm' | 'postNorm' | 'qNorm' | 'kNorm';

/** A block's linear layer y = x W^T at the moment its output gradient is complete. Buffers are f32. */
export interface LinearGradient {
  /** Original index of the block. */
  block: number;
  name: LinearName;
  /** Rows (B*T, the whole batch), output features, input features. */
  M: number;
  N: number;
  K: number;
  /** The frozen weight W [N, K]. */
  weight: GpuTensor;
  /** The layer's input x [M, K] (recomputed) and output gradient dy = dL/dy [M, N]: dL/dW = dy^T x. */
  x: GPUBuffer;
  dy: GPUBuffer;
  /**
   * dL/dx [M, K], already holding the frozen path dy W (plus that of the layers before it reading the
   * same x): a consumer whose layer adds to the forward (an adapter) adds its own path here.
   */
  dx: GPUBuffer;
}

/** A block's RMSNorm y = rms(x) w at the moment its output gradient is complete: dL/dw_i = sum_rows dy_i x_i rinv. */
export interface NormGradient {
  block: number;
  name: NormName;
  rows: number;
  dim: number;
  eps: number;
  weight: GpuTensor;
  x: GPUBuffer;
  dy: GPUBuffer;
  /** 1/rms per row [rows], written by the norm's backward. */
  rinv: GPUBuffer;
}

/** A projection's bias b [N] at the moment the layer's output gradient dy [M, N] is complete: dL/db = sum_rows dy. */
export interface BiasGradient {
  block: number;
  name: 'q' | 'k' | 'v' | 'o';
  M: number;
  N: number;
  bias: GpuTensor;
  dy: GPUBuffer;
}

/**
 * What consumes the weight gradients. Called while a block's backward is built; the returned ops
 * are encoded in that block's pass right after the layer's dx (before x or dy are overwritten).
 * Buffers created in these calls are freed after the block; ones that outlive it (scores, adapter
 * gradients) belong to the consumer.
 */
export interface GradientConsumer {
  linear?(rt: GpuRuntime, g: LinearGradient): Encodable[];
  norm?(rt: GpuRuntime, g: NormGradient): Encodable[];
  bias?(rt: GpuRuntime, g: BiasGradient): Encodable[];
}

export interface BackwardOptions {
  /** Blocks to run, in order (original indices; default all). */
  plan?: BlockPlan;
  /** Track every buffer of the pass here (its peak then includes them); default: a ledger of its own. The pass frees its buffers when it ends. */
  ledger?: BufferLedger;
  /** Upper bound on the f32 logits chunk [rows, vocab] of the LM head (and its gradient, in place). */
  logitsBudgetBytes?: number;
  /** Adapters in the forward and the recompute (LoRA), by original block index; their gradients go to the consumer. */
  adapters?: (block: number) => BlockAdapter | undefined;
  /** Loss targets per token [N * T] (0 = not a target, e.g. a prompt token or padding); default: every next token. */
  targets?: Uint8Array;
}

/** Each stage is yielded once its GPU work has completed. */
export type BackwardStage =
  | { stage: 'forward' }
  /** f32 [2] { NLL sum, labelled rows }: the mean loss is [0] / [1] (read it when needed; no readback here). */
  | { stage: 'loss'; loss: GPUBuffer }
  /** dx: dL/d(block input) [rows, hidden] f32, valid until the next stage runs. */
  | { stage: 'block'; block: number; dx: GPUBuffer };

const LOGITS_BUDGET_BYTES = 256 << 20;

/** Rows per LM-head chunk: all rows when the logits fit the budget, else a multiple of the offset alignment step. */
function headChunkRows(rt: GpuRuntime, c: ModelConfig, rows: number, budget: number): number {
  const limit = Math.min(budget, rt.device.limits.maxStorageBufferBindingSize);
  const fit = Math.floor(limit / (c.vocabSize * 4));
  if (fit >= rows) return rows;
  // dNorm is bound as a window at row0 * hidden * 4 bytes: row0 must keep that offset aligned.
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  const rowBytes = c.hiddenSize * 4;
  let step = 1;
  while ((step * rowBytes) % align !== 0) step++;
  const chunk = Math.floor(fit / step) * step;
  if (chunk < 1) throw new Error(`backward: one aligned chunk of ${step} logits rows exceeds ${limit} bytes`);
  return chunk;
}

/**
 * Bytes of GPU memory a backward pass holds at its peak besides the weights and the consumer's
 * buffers (without the few KB of uniforms), for R = N*T rows, all f32:
 *   block inputs      L * R * hidden
 *   forward buffers   BatchForward: activations R*(2*hidden + 2*(H+KVH)*D + H + I), ids/labels/nll 3R
 *                     (its own LM head is never built here)
 *   residual grads    dResid, dNorm: 2 R*hidden
 *   then the larger of
 *     head            logits chunk C*V (C rows per chunk) + the nf chunk C*hidden when chunked + R
 *     block backward  n2 R*hidden; g, u 2 R*I; dm/da R*max(I, H*D); dQ R*H*D; dK, dV 2 R*KVH*D;
 *                     delta R*H; rinv 2R; with q/k norms dQ, dK before them R*(H+KVH)*D and rinv R*(H+KVH)
 */
export function backwardMemoryEstimate(c: ModelConfig, N: number, T: number, logitsBudgetBytes = LOGITS_BUDGET_BYTES, maxBinding = 1 << 30): number {
  const R = N * T;
  const Hd = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const C = Math.min(R, Math.floor(Math.min(logitsBudgetBytes, maxBinding) / (c.vocabSize * 4)));
  const captures = c.numLayers * R * Hd * 4;
  const forward = activationBytes(c, R) + R * 12;
  const grads = 2 * R * Hd * 4;
  const head = 4 * (C * c.vocabSize + (C < R ? C * Hd : 0) + R);
  const qkNorm = c.qkNorm ? (qd + kvd) + c.numHeads + c.numKvHeads : 0;
  const block = 4 * R * (Hd + 2 * I + Math.max(I, qd) + qd + 2 * kvd + c.numHeads + 2 + qkNorm);
  return captures + forward + grads + Math.max(head, block);
}

const isF16 = (t: GpuTensor) => t.dtype === 'f16';

/**
 * Runs the backward of `model` on [N, T] token ids (labels: the next token within each sequence),
 * yielding after the forward, the loss and each block (last first). Frees every buffer it allocated
 * when it ends, also when the caller stops iterating (cancellation) or on error.
 */
export async function* backward(
  model: LlamaModel,
  ids: Uint32Array,
  N: number,
  T: number,
  consumer: GradientConsumer,
  o: BackwardOptions = {},
): AsyncGenerator<BackwardStage, void, undefined> {
  const rt = model.rt;
  const dev = rt.device;
  const c = model.config;
  const R = N * T;
  const plan = o.plan ?? fullPlan(c.numLayers);
  validatePlan(plan, c.numLayers);
  if (!Number.isInteger(N) || !Number.isInteger(T) || N < 1 || T < 2) throw new RangeError(`backward: need N >= 1 sequences of T >= 2 tokens, got ${N} x ${T}`);
  if (ids.length !== R) throw new RangeError(`backward: expected ${R} token ids (${N} x ${T}), got ${ids.length}`);
  const ledger = o.ledger ?? new BufferLedger(dev);
  const own: GPUBuffer[] = [];
  const f32 = (count: number, label: string) => createStorageBuffer(dev, count * 4, `backward.${label}`);
  const Hd = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const w = model.weights;
  /** Encodes, submits and awaits one command buffer whose ops (and their buffers) are freed afterwards. */
  const runScoped = async (label: string, build: (encoder: GPUCommandEncoder) => void) => {
    const scratch: GPUBuffer[] = [];
    try {
      const encoder = dev.createCommandEncoder({ label });
      ledger.track(() => build(encoder), scratch);
      dev.queue.submit([encoder.finish()]);
      await dev.queue.onSubmittedWorkDone();
    } finally {
      ledger.free(scratch);
    }
  };
  try {
    // ---- forward over the whole batch, capturing every block's input
    const { batch, captures, dResid, dNorm, loss, step } = ledger.track(() => ({
      batch: new BatchForward(rt, c, w, N, T, o.adapters),
      captures: plan.map((b) => f32(R * Hd, `x${b}`)),
      // dL/d(residual) (dy -> dh -> dx0, accumulated in place) and dL/d(norm output), from the head on
      dResid: f32(R * Hd, 'dResid'),
      dNorm: f32(R * Hd, 'dNorm'),
      loss: f32(2, 'loss'),
      step: new StepBuffer(rt, 0),
    }), own);
    const a = batch.act;
    batch.setTokens(ids, o.targets);
    batch.submit({ plan, captures, skipHead: true });
    await dev.queue.onSubmittedWorkDone();
    yield { stage: 'forward' };

    // ---- LM head + cross-entropy backward (row chunks) + final norm backward; act.x holds the last block's output
    const chunkRows = headChunkRows(rt, c, R, o.logitsBudgetBytes ?? LOGITS_BUDGET_BYTES);
    await runScoped('backward.head', (encoder) => {
      const logits = f32(chunkRows * c.vocabSize, 'logits');
      const nfChunk = chunkRows < R ? f32(chunkRows * Hd, 'nf_chunk') : undefined;
      const normArgs = { rows: R, dim: Hd, eps: c.rmsNormEps, weightF16: isF16(w.finalNorm), x: a.x, w: w.finalNorm.buffer };
      inPass(encoder, [new RmsNorm(rt, { ...normArgs, y: a.xn })]);
      const rowBytes = Hd * 4;
      for (let row0 = 0; row0 < R; row0 += chunkRows) {
        const rows = Math.min(chunkRows, R - row0);
        if (nfChunk) encoder.copyBufferToBuffer(a.xn, row0 * rowBytes, nfChunk, 0, rows * rowBytes);
        inPass(encoder, [
          createLinear(rt, { M: rows, N: c.vocabSize, K: Hd, dtype: w.head.dtype, x: nfChunk ?? a.xn, w: w.head.buffer, y: logits }),
          new CrossEntropyBackward(rt, { rows, V: c.vocabSize, logits, labels: batch.labels, rowOffset: row0, totalRows: R, accumulateLoss: row0 > 0, loss }),
          new LinearBackward(rt, {
            M: rows, N: c.vocabSize, K: Hd, dtype: w.head.dtype, dy: logits, w: w.head.buffer,
            dx: { buffer: dNorm, offset: row0 * rowBytes, size: rows * rowBytes },
          }),
        ]);
      }
      inPass(encoder, [new RmsNormBackward(rt, { ...normArgs, dy: dNorm, dx: dResid })]);
    });
    yield { stage: 'loss', loss };

    // the block backward's buffers, allocated once the logits are gone
    const g = ledger.track(() => ({
      dResid, dNorm,
      saves: { n2: f32(R * Hd, 'n2'), gate: f32(R * I, 'g'), up: f32(R * I, 'u') },
      dm: f32(R * Math.max(I, qd), 'dm_da'),
      dQ: f32(R * qd, 'dQ'),
      dK: f32(R * kvd, 'dK'),
      dV: f32(R * kvd, 'dV'),
      // Qwen3: the gradients of q and k before their per-head norms
      ...(c.qkNorm ? { dQraw: f32(R * qd, 'dQraw'), dKraw: f32(R * kvd, 'dKraw') } : {}),
    }), own);

    // ---- blocks in reverse: recompute from the block input, then backward; dResid carries dL/dx
    for (let j = plan.length - 1; j >= 0; j--) {
      const block = plan[j]!;
      const x0 = captures[j]!;
      await runScoped(`backward.block${block}`, (encoder) => {
        encoder.copyBufferToBuffer(x0, 0, a.x, 0, R * Hd * 4);
        const bw = w.blocks[block]!;
        inPass(encoder, [
          ...buildBlockOps(rt, c, bw, a, { B: N, T, step, saves: g.saves, adapter: o.adapters?.(block) }),
          ...blockBackwardOps(rt, c, bw, { block, N, T, x0, a, g }, consumer),
        ]);
      });
      yield { stage: 'block', block, dx: dResid };
    }
  } finally {
    ledger.free(own);
  }
}

interface BlockBuffers {
  block: number;
  N: number;
  T: number;
  /** The block's input (captured in the forward). */
  x0: GPUBuffer;
  /** Activations as the recompute left them (see BlockSaves). */
  a: Activations;
  g: { saves: BlockSaves; dResid: GPUBuffer; dNorm: GPUBuffer; dm: GPUBuffer; dQ: GPUBuffer; dK: GPUBuffer; dV: GPUBuffer; dQraw?: GPUBuffer; dKraw?: GPUBuffer };
}

/**
 * One block's backward (src/kernels/backward/README.md steps 1-10) with the consumer's ops after each
 * weight's dx; dResid = dL/dy on entry, dL/dx0 on exit.
 */
function blockBackwardOps(rt: GpuRuntime, c: ModelConfig, w: BlockWeights, s: BlockBuffers, consumer: GradientConsumer): Encodable[] {
  const { a, g, x0, block } = s;
  const { n2, gate, up } = g.saves;
  const M = s.N * s.T;
  const Hd = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const eps = c.rmsNormEps;
  /** dx = (+=) dy W, then the consumer's ops for that weight. */
  const linear = (name: LinearName, N: number, K: number, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, accumulate = false): Encodable[] => [
    new LinearBackward(rt, { M, N, K, dtype: w[name].dtype, dy, w: w[name].buffer, dx, accumulate }),
    ...(consumer.linear?.(rt, { block, name, M, N, K, weight: w[name], x, dy, dx }) ?? []),
  ];
  /**
   * dx (+)= norm backward through the applied weight, then the consumer's ops for the weight as stored
   * (Gemma applies 1 + w; dL/dw is the same, the score multiplies by w). Default: the block norms, dResid += .
   */
  const norm = (name: NormName, x: GPUBuffer, o: { rows: number; dim: number; dy: GPUBuffer; dx: GPUBuffer; accumulate: boolean } =
    { rows: M, dim: Hd, dy: g.dNorm, dx: g.dResid, accumulate: true }): Encodable[] => {
    const applied = w[name]!;
    const stored = name === 'inputNorm' || name === 'postNorm' ? storedNorm(c, w, name) : applied;
    const shape = { rows: o.rows, dim: o.dim, eps, weightF16: isF16(applied) };
    const op = new RmsNormBackward(rt, { ...shape, x, w: applied.buffer, dy: o.dy, dx: o.dx, accumulate: o.accumulate });
    return [op, ...(consumer.norm?.(rt, { block, name, ...shape, weight: stored, x, dy: o.dy, rinv: op.rinv }) ?? [])];
  };
  /** The consumer's ops for a projection's bias (it changes no activation gradient). */
  const bias = (name: 'q' | 'k' | 'v' | 'o', N: number, dy: GPUBuffer): Encodable[] => {
    const b = w.bias[name];
    return b ? consumer.bias?.(rt, { block, name, M, N, bias: b, dy }) ?? [] : [];
  };
  const heads = { B: s.N, T: s.T, nHeads: c.numHeads, nKvHeads: c.numKvHeads, headDim: c.headDim, window: c.windows[w.index] ?? null };
  // Qwen3: dq, dk after RoPE's backward are the gradients of the normed heads; the norms' backward gives the projections'.
  const dq = c.qkNorm ? g.dQraw! : g.dQ;
  const dk = c.qkNorm ? g.dKraw! : g.dK;
  const qkNormBackward: Encodable[] = c.qkNorm ? [
    ...norm('qNorm', a.qRaw!, { rows: M * c.numHeads, dim: c.headDim, dy: g.dQ, dx: dq, accumulate: false }),
    ...norm('kNorm', a.kRaw!, { rows: M * c.numKvHeads, dim: c.headDim, dy: g.dK, dx: dk, accumulate: false }),
  ] : [];
  return [
    ...linear('down', Hd, I, a.h, g.dResid, g.dm),
    new SwiGluBackward(rt, { n: M * I, g: gate, u: up, dh: g.dm, activation: c.activation }), // in place: gate <- dg, up <- du
    ...linear('gate', I, Hd, n2, gate, g.dNorm),
    ...linear('up', I, Hd, n2, up, g.dNorm, true),
    ...norm('postNorm', a.x),
    ...linear('o', Hd, qd, a.attn, g.dResid, g.dm),
    ...bias('o', Hd, g.dResid),
    new AttentionBackward(rt, { ...heads, q: a.q, k: a.k, v: a.v, out: a.attn, lse: a.lse!, dOut: g.dm, dq: g.dQ, dk: g.dK, dv: g.dV }),
    new RopeBackward(rt, { rows: M, T: s.T, headDim: c.headDim, nHeads: c.numHeads, nKvHeads: c.numKvHeads, dq: g.dQ, dk: g.dK, theta: c.ropeTheta, ...ropeScaling(c) }),
    ...qkNormBackward,
    ...linear('q', qd, Hd, a.xn, dq, g.dNorm),
    ...bias('q', qd, dq),
    ...linear('k', kvd, Hd, a.xn, dk, g.dNorm, true),
    ...bias('k', kvd, dk),
    ...linear('v', kvd, Hd, a.xn, g.dV, g.dNorm, true),
    ...bias('v', kvd, g.dV),
    ...norm('inputNorm', x0),
  ];
}

/** A block norm's weight as the checkpoint stores it (BlockWeights.stored), where the forward applies 1 + w. */
function storedNorm(c: ModelConfig, w: BlockWeights, name: 'inputNorm' | 'postNorm'): GpuTensor {
  if (c.normOffset === 0) return w[name];
  return w.stored[blockTensorSpecs(c).findIndex((t) => t.name === (name === 'inputNorm' ? 'input_layernorm.weight' : 'post_attention_layernorm.weight'))]!;
}

function inPass(encoder: GPUCommandEncoder, ops: Encodable[]): void {
  const pass = encoder.beginComputePass();
  for (const op of ops) op.encode(pass);
  pass.end();
}
