/**
 * The Taylor criterion on the GPU (METHOD.md): one forward and one backward over the whole
 * calibration batch, loss = mean next-token cross-entropy over the N x (T-1) labelled positions;
 * for each of a block's 9 weights the score sum |W * dL/dW| (the gradient summed over all rows
 * before |.|), block score = the sum of its 9.
 *
 * Memory: the forward keeps only each block's input (BatchForward captures). The backward walks
 * the blocks in reverse and recomputes each block's activations from its input just before its
 * backward (norm, q/k/v, RoPE, attention with logsumexp, o, norm, gate/up, SwiGLU), in one command
 * encoder per block. Weight gradients never exist: the fused score kernels of src/kernels/backward
 * reduce |W * dW| tile by tile. Peak ~ weights + L block inputs + the forward's activations + the
 * larger of (one chunk of logits, one block's extra activations and gradients); see
 * taylorMemoryEstimate.
 *
 * Order per block and buffer reuse follow src/kernels/backward/README.md; the recompute scratch
 * reuses the BatchForward's activation buffers (free once the forward is done):
 *   act.xn = n1, act.q/k = post-RoPE q/k, act.v = v, act.attn = a, act.x = h (mid-block residual),
 *   act.h = m = silu(g) u; own buffers: n2, g, u, lse and the gradients.
 */
import { createStorageBuffer, readF32 } from '../gpu/buffers';
import { withErrorScope } from '../gpu/errors';
import { BufferLedger } from '../gpu/ledger';
import type { GpuRuntime } from '../gpu/runtime';
import { ropeScaling, type Encodable } from '../model/block-ops';
import type { ModelConfig } from '../io/config';
import { AttentionBackward, AttentionForward } from '../kernels/backward/attention';
import { CrossEntropyBackward } from '../kernels/backward/crossEntropy';
import { LinearBackward } from '../kernels/backward/linear';
import { RmsNormBackward } from '../kernels/backward/rmsnorm';
import { RopeBackward } from '../kernels/backward/rope';
import { SwiGluBackward } from '../kernels/backward/swiglu';
import { StepBuffer } from '../kernels/common';
import { SwiGlu } from '../kernels/elementwise';
import { createLinear } from '../kernels/matvec';
import { RmsNorm } from '../kernels/rmsnorm';
import { Rope } from '../kernels/rope';
import { activationBytes } from '../model/activations';
import { BatchForward } from '../model/batch-forward';
import type { LlamaModel } from '../model/model';
import type { BlockWeights } from '../model/weights';
import type { GpuTensor } from '../gpu/tensor';
import { checkCancelled, type JobOptions } from '../util/job';

/** Score slots per block, in BLOCK_WEIGHT_NAMES order (fixtures: criteria.weight_kinds). */
export const TAYLOR_WEIGHT_KINDS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'input_layernorm', 'post_attention_layernorm'] as const;
const SLOTS = TAYLOR_WEIGHT_KINDS.length;

/** Upper bound on the f32 logits chunk [rows, vocab] of the LM head (and its gradient, in place). */
const LOGITS_BUDGET_BYTES = 256 << 20;

/**
 * onProgress: after the forward (done = 1), the LM head + loss (2) and each block's backward (block
 * L-1 first); total = L + 2.
 * signal: checked between blocks; an aborted run frees everything and rejects with CancelledError.
 */
export interface TaylorOptions extends JobOptions {
  /** Test hook: bound the logits chunk to this many bytes (forces the row-chunked head). */
  logitsBudgetBytes?: number;
}

export interface TaylorScores {
  /** [L][9]: sum |W * dL/dW| per weight, kinds as TAYLOR_WEIGHT_KINDS. */
  perWeight: number[][];
  /** [L]: the sum of a block's 9 scores. */
  perBlock: number[];
  /** Mean next-token cross-entropy (nats) over the N x (T-1) labelled positions. */
  loss: number;
  /** Largest sum of the sizes of the GPU buffers this call held at once (weights not included). */
  peakBytes: number;
}

const isF16 = (t: GpuTensor) => t.dtype === 'f16';

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
  if (chunk < 1) throw new Error(`taylor: one aligned chunk of ${step} logits rows exceeds ${limit} bytes`);
  return chunk;
}

/**
 * Bytes of GPU memory computeTaylorScores holds at its peak besides the weights (the formula
 * behind `peakBytes`, without the few KB of uniforms and score partials), for R = N*T rows, all f32:
 *   block inputs      L * R * hidden
 *   forward buffers   BatchForward: activations R*(2*hidden + 2*(H+KVH)*D + I), ids/labels/nll 3R
 *                     (its own LM head is never built here)
 *   residual grads    dResid, dNorm: 2 R*hidden
 *   then the larger of
 *     head            logits chunk C*V (C rows per chunk) + the nf chunk C*hidden when chunked + R
 *     block backward  n2 R*hidden; g, u 2 R*I; dm/da R*max(I, H*D); dQ R*H*D; dK, dV 2 R*KVH*D;
 *                     lse, delta 2 R*H; rinv 2R
 */
export function taylorMemoryEstimate(c: ModelConfig, N: number, T: number, logitsBudgetBytes = LOGITS_BUDGET_BYTES, maxBinding = 1 << 30): number {
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
  const block = 4 * R * (Hd + 2 * I + Math.max(I, qd) + qd + 2 * kvd + 2 * c.numHeads + 2);
  return captures + forward + grads + Math.max(head, block);
}

/**
 * Taylor scores of every block of `model` on [N, T] calibration ids (all N*T rows in one batch).
 * Frees every buffer it allocates, also on error or cancellation.
 */
export async function computeTaylorScores(
  model: LlamaModel,
  ids: Uint32Array,
  N: number,
  T: number,
  opts: TaylorOptions = {},
): Promise<TaylorScores> {
  const rt = model.rt;
  const dev = rt.device;
  const c = model.config;
  const L = c.numLayers;
  const R = N * T;
  if (!Number.isInteger(N) || !Number.isInteger(T) || N < 1 || T < 2) throw new RangeError(`taylor: need N >= 1 sequences of T >= 2 tokens, got ${N} x ${T}`);
  if (ids.length !== R) throw new RangeError(`taylor: expected ${R} token ids (${N} x ${T}), got ${ids.length}`);
  const total = L + 2;
  const ledger = new BufferLedger(dev);
  const f32 = (count: number, label: string) => createStorageBuffer(dev, count * 4, `taylor.${label}`);
  const Hd = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  try {
    // GPU validation / out-of-memory errors surface as a GpuError instead of wrong scores
    return await withErrorScope(dev, 'taylor scores', async () => {
      checkCancelled(opts.signal);
      // ---- forward over the whole batch, capturing every block's input
      const { batch, captures, dResid, dNorm, scores, loss, step } = ledger.track(() => ({
        batch: new BatchForward(rt, c, model.weights, N, T),
        captures: Array.from({ length: L }, (_, i) => f32(R * Hd, `x${i}`)),
        // dL/d(residual) (dy -> dh -> dx0, accumulated in place) and dL/d(norm output), from the head on
        dResid: f32(R * Hd, 'dResid'),
        dNorm: f32(R * Hd, 'dNorm'),
        scores: f32(L * SLOTS, 'scores'),
        loss: f32(2, 'loss'),
        step: new StepBuffer(rt, 0),
      }));
      const a = batch.act;
      batch.setTokens(ids);
      batch.submit({ plan: model.fullPlan(), captures, skipHead: true });
      await dev.queue.onSubmittedWorkDone();
      opts.onProgress?.(1, total, 'forward');
      checkCancelled(opts.signal);

      // ---- LM head + cross-entropy backward (row chunks) + final norm backward; act.x holds x_L
      const w = model.weights;
      const chunkRows = headChunkRows(rt, c, R, opts.logitsBudgetBytes ?? LOGITS_BUDGET_BYTES);
      const headEncoder = dev.createCommandEncoder({ label: 'taylor.head' });
      const headScratch: GPUBuffer[] = [];
      ledger.track(() => {
        const logits = f32(chunkRows * c.vocabSize, 'logits');
        const nfChunk = chunkRows < R ? f32(chunkRows * Hd, 'nf_chunk') : undefined;
        const finalNorm = new RmsNorm(rt, { rows: R, dim: Hd, eps: c.rmsNormEps, weightF16: isF16(w.finalNorm), x: a.x, w: w.finalNorm.buffer, y: a.xn });
        inPass(headEncoder, [finalNorm]);
        const rowBytes = Hd * 4;
        for (let row0 = 0; row0 < R; row0 += chunkRows) {
          const rows = Math.min(chunkRows, R - row0);
          if (nfChunk) headEncoder.copyBufferToBuffer(a.xn, row0 * rowBytes, nfChunk, 0, rows * rowBytes);
          inPass(headEncoder, [
            createLinear(rt, { M: rows, N: c.vocabSize, K: Hd, dtype: w.head.dtype, x: nfChunk ?? a.xn, w: w.head.buffer, y: logits }),
            new CrossEntropyBackward(rt, {
              rows, vocab: c.vocabSize, logits, labels: batch.labels, rowOffset: row0, totalRows: R, accumulateLoss: row0 > 0, loss,
            }),
            new LinearBackward(rt, {
              M: rows, N: c.vocabSize, K: Hd, weightF16: isF16(w.head), dY: logits, W: w.head.buffer,
              dX: { buffer: dNorm, offset: row0 * rowBytes, size: rows * rowBytes },
            }),
          ]);
        }
        inPass(headEncoder, [
          new RmsNormBackward(rt, { rows: R, dim: Hd, eps: c.rmsNormEps, weightF16: isF16(w.finalNorm), x: a.x, w: w.finalNorm.buffer, dy: dNorm, dx: dResid }),
        ]);
      }, headScratch);
      dev.queue.submit([headEncoder.finish()]);
      await dev.queue.onSubmittedWorkDone();
      ledger.free(headScratch);
      opts.onProgress?.(2, total, 'LM head and loss');
      checkCancelled(opts.signal);

      // the block backward's buffers, allocated once the logits are gone
      const g = ledger.track(() => ({
        dResid, dNorm, scores, step,
        n2: f32(R * Hd, 'n2'),
        gate: f32(R * I, 'g'),
        up: f32(R * I, 'u'),
        lse: f32(R * c.numHeads, 'lse'),
        dm: f32(R * Math.max(I, qd), 'dm_da'),
        dQ: f32(R * qd, 'dQ'),
        dK: f32(R * kvd, 'dK'),
        dV: f32(R * kvd, 'dV'),
      }));

      // ---- blocks L-1 .. 0: recompute from the block input, then backward; dResid carries dL/dx
      for (let i = L - 1; i >= 0; i--) {
        checkCancelled(opts.signal);
        const scratch: GPUBuffer[] = [];
        const encoder = dev.createCommandEncoder({ label: `taylor.block${i}` });
        ledger.track(() => {
          encoder.copyBufferToBuffer(captures[i]!, 0, a.x, 0, R * Hd * 4);
          inPass(encoder, blockOps(rt, c, model.weights.blocks[i]!, i, { N, T, x0: captures[i]!, a, g }));
        }, scratch);
        dev.queue.submit([encoder.finish()]);
        await dev.queue.onSubmittedWorkDone();
        ledger.free(scratch);
        opts.onProgress?.(L - i + 2, total, `block ${i}`);
      }

      const flat = await readF32(dev, g.scores, L * SLOTS);
      const [nllSum, count] = await readF32(dev, loss, 2);
      const perWeight = Array.from({ length: L }, (_, i) => Array.from(flat.subarray(i * SLOTS, (i + 1) * SLOTS)));
      return {
        perWeight,
        perBlock: perWeight.map((s) => s.reduce((x, y) => x + y, 0)),
        loss: nllSum! / count!,
        peakBytes: ledger.peak,
      };
    });
  } finally {
    ledger.freeAll();
  }
}

interface BlockBuffers {
  N: number;
  T: number;
  /** The block's input (captured in the forward). */
  x0: GPUBuffer;
  a: BatchForward['act'];
  g: {
    n2: GPUBuffer; gate: GPUBuffer; up: GPUBuffer; lse: GPUBuffer; dResid: GPUBuffer; dNorm: GPUBuffer;
    dm: GPUBuffer; dQ: GPUBuffer; dK: GPUBuffer; dV: GPUBuffer; scores: GPUBuffer; step: StepBuffer;
  };
}

/** One block's recompute (forward from x0) and backward, in order, for a single compute pass. */
function blockOps(rt: GpuRuntime, c: ModelConfig, w: BlockWeights, block: number, s: BlockBuffers): Encodable[] {
  const { a, g, x0 } = s;
  const M = s.N * s.T;
  const Hd = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const eps = c.rmsNormEps;
  const slot = (k: number) => ({ scores: g.scores, slot: block * SLOTS + k });
  const attn = { rows: M, seqLen: s.T, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim };
  const rope = new Rope(rt, {
    rows: M, T: s.T, headDim: c.headDim, nHeads: c.numHeads, nKvHeads: c.numKvHeads, q: a.q, k: a.k, step: g.step, theta: c.ropeTheta, ...ropeScaling(c),
  });
  return [
    // recompute: n1 = rms(x0) w_in; q, k, v; RoPE; attention (O and lse); h = x0 + a Wo^T (a.x holds a copy of x0)
    new RmsNorm(rt, { rows: M, dim: Hd, eps, weightF16: isF16(w.inputNorm), x: x0, w: w.inputNorm.buffer, y: a.xn }),
    createLinear(rt, { M, N: qd, K: Hd, dtype: w.q.dtype, x: a.xn, w: w.q.buffer, y: a.q }),
    createLinear(rt, { M, N: kvd, K: Hd, dtype: w.k.dtype, x: a.xn, w: w.k.buffer, y: a.k }),
    createLinear(rt, { M, N: kvd, K: Hd, dtype: w.v.dtype, x: a.xn, w: w.v.buffer, y: a.v }),
    rope,
    new AttentionForward(rt, { ...attn, q: a.q, k: a.k, v: a.v, o: a.attn, lse: g.lse }),
    createLinear(rt, { M, N: Hd, K: qd, dtype: w.o.dtype, x: a.attn, w: w.o.buffer, y: a.x, epilogue: 'residual' }),
    // n2 = rms(h) w_post; g, u; m = silu(g) u
    new RmsNorm(rt, { rows: M, dim: Hd, eps, weightF16: isF16(w.postNorm), x: a.x, w: w.postNorm.buffer, y: g.n2 }),
    createLinear(rt, { M, N: I, K: Hd, dtype: w.gate.dtype, x: g.n2, w: w.gate.buffer, y: g.gate }),
    createLinear(rt, { M, N: I, K: Hd, dtype: w.up.dtype, x: g.n2, w: w.up.buffer, y: g.up }),
    new SwiGlu(rt, { n: M * I, g: g.gate, u: g.up, h: a.h }),
    // backward (src/kernels/backward/README.md steps 1-10); dResid = dL/dy on entry, dL/dx0 on exit
    new LinearBackward(rt, { M, N: Hd, K: I, weightF16: isF16(w.down), dY: g.dResid, W: w.down.buffer, X: a.h, dX: g.dm, score: slot(6) }),
    new SwiGluBackward(rt, { count: M * I, g: g.gate, u: g.up, dh: g.dm }),
    new LinearBackward(rt, { M, N: I, K: Hd, weightF16: isF16(w.gate), dY: g.gate, W: w.gate.buffer, X: g.n2, dX: g.dNorm, score: slot(4) }),
    new LinearBackward(rt, { M, N: I, K: Hd, weightF16: isF16(w.up), dY: g.up, W: w.up.buffer, X: g.n2, dX: g.dNorm, accumulate: true, score: slot(5) }),
    new RmsNormBackward(rt, { rows: M, dim: Hd, eps, weightF16: isF16(w.postNorm), x: a.x, w: w.postNorm.buffer, dy: g.dNorm, dx: g.dResid, accumulate: true, score: slot(8) }),
    new LinearBackward(rt, { M, N: Hd, K: qd, weightF16: isF16(w.o), dY: g.dResid, W: w.o.buffer, X: a.attn, dX: g.dm, score: slot(3) }),
    new AttentionBackward(rt, { ...attn, q: a.q, k: a.k, v: a.v, o: a.attn, lse: g.lse, dO: g.dm, dQ: g.dQ, dK: g.dK, dV: g.dV }),
    new RopeBackward(rt, { rows: M, heads: c.numHeads, headDim: c.headDim, seqLen: s.T, invFreq: rope.invFreq, grad: g.dQ }),
    new RopeBackward(rt, { rows: M, heads: c.numKvHeads, headDim: c.headDim, seqLen: s.T, invFreq: rope.invFreq, grad: g.dK }),
    new LinearBackward(rt, { M, N: qd, K: Hd, weightF16: isF16(w.q), dY: g.dQ, W: w.q.buffer, X: a.xn, dX: g.dNorm, score: slot(0) }),
    new LinearBackward(rt, { M, N: kvd, K: Hd, weightF16: isF16(w.k), dY: g.dK, W: w.k.buffer, X: a.xn, dX: g.dNorm, accumulate: true, score: slot(1) }),
    new LinearBackward(rt, { M, N: kvd, K: Hd, weightF16: isF16(w.v), dY: g.dV, W: w.v.buffer, X: a.xn, dX: g.dNorm, accumulate: true, score: slot(2) }),
    new RmsNormBackward(rt, { rows: M, dim: Hd, eps, weightF16: isF16(w.inputNorm), x: x0, w: w.inputNorm.buffer, dy: g.dNorm, dx: g.dResid, accumulate: true, score: slot(7) }),
  ];
}

function inPass(encoder: GPUCommandEncoder, ops: Encodable[]): void {
  const pass = encoder.beginComputePass();
  for (const op of ops) op.encode(pass);
  pass.end();
}
