/**
 * The Taylor criterion on the GPU (METHOD.md): one forward and one backward over the whole
 * calibration batch (src/model/backward.ts), loss = mean next-token cross-entropy over the
 * N x (T-1) labelled positions; for each of a block's weights (LLaMA's 9, plus a family's projection
 * biases and q/k norms) the score sum |W * dL/dW| (the gradient summed over all rows before |.|),
 * block score = their sum.
 *
 * The scores are the backward's gradient consumer: weight gradients never exist, the fused score
 * kernels of src/kernels/backward form dW tile by tile (linear) or column by column (RMSNorm),
 * multiply by W and reduce to one f32 per weight. Memory is the backward's: only block inputs kept,
 * each block recomputed before its backward, the LM head in row chunks (taylorMemoryEstimate).
 */
import { createStorageBuffer, readF32 } from '../gpu/buffers';
import { withErrorScope } from '../gpu/errors';
import { BufferLedger } from '../gpu/ledger';
import { LinearScore } from '../kernels/backward/linear';
import { RmsNormScore } from '../kernels/backward/rmsnorm';
import { BiasScore } from '../kernels/bias';
import { backward, backwardMemoryEstimate, type GradientConsumer, type LinearName, type NormName } from '../model/backward';
import { blockTensorSpecs, type ModelConfig } from '../io/config';
import type { LlamaModel } from '../model/model';
import { checkCancelled, type JobOptions } from '../util/job';

/** Score slots per block of a LLaMA, in BLOCK_WEIGHT_NAMES order (fixtures: criteria.weight_kinds); a family's are blockTensorSpecs'. */
export const TAYLOR_WEIGHT_KINDS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'input_layernorm', 'post_attention_layernorm'] as const;
/** The checkpoint tensor (suffix in its block) each gradient the backward hands out belongs to. */
const TENSOR: Record<LinearName | NormName, string> = {
  q: 'self_attn.q_proj.weight', k: 'self_attn.k_proj.weight', v: 'self_attn.v_proj.weight', o: 'self_attn.o_proj.weight',
  gate: 'mlp.gate_proj.weight', up: 'mlp.up_proj.weight', down: 'mlp.down_proj.weight',
  inputNorm: 'input_layernorm.weight', postNorm: 'post_attention_layernorm.weight', qNorm: 'self_attn.q_norm.weight', kNorm: 'self_attn.k_norm.weight',
};

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
  /** [L][kinds]: sum |W * dL/dW| per weight, kinds in blockTensorSpecs order (LLaMA: TAYLOR_WEIGHT_KINDS). */
  perWeight: number[][];
  /** [L]: the sum of a block's scores. */
  perBlock: number[];
  /** Mean next-token cross-entropy (nats) over the N x (T-1) labelled positions. */
  loss: number;
  /** Largest sum of the sizes of the GPU buffers this call held at once (weights not included). */
  peakBytes: number;
}

/**
 * Bytes of GPU memory computeTaylorScores holds at its peak besides the weights: the backward's
 * (backwardMemoryEstimate); the scores and their partial sums add a few KB.
 */
export function taylorMemoryEstimate(c: ModelConfig, N: number, T: number, logitsBudgetBytes?: number, maxBinding?: number): number {
  return backwardMemoryEstimate(c, N, T, logitsBudgetBytes, maxBinding);
}

/** The fused |W * dW| score of every block tensor into scores[block * kinds + slot]. */
function scoreConsumer(c: ModelConfig, scores: GPUBuffer): GradientConsumer {
  const kinds = blockTensorSpecs(c).map((t) => t.name);
  const slot = (tensor: string) => {
    const k = kinds.indexOf(tensor);
    if (k < 0) throw new Error(`taylor: ${tensor} is not a tensor of this family's blocks`);
    return k;
  };
  const target = (block: number, name: LinearName | NormName) => ({ scores, slot: block * kinds.length + slot(TENSOR[name]) });
  return {
    bias: (rt, g) => [new BiasScore(rt, { rows: g.M, N: g.N, bias: g.bias, dy: g.dy, score: { scores, slot: g.block * kinds.length + slot(`self_attn.${g.name}_proj.bias`) } })],
    linear: (rt, g) => [new LinearScore(rt, { M: g.M, N: g.N, K: g.K, dtype: g.weight.dtype, dy: g.dy, w: g.weight.buffer, x: g.x, score: target(g.block, g.name) })],
    norm: (rt, g) => [new RmsNormScore(rt, {
      rows: g.rows, dim: g.dim, eps: g.eps, weightF16: g.weight.dtype === 'f16', x: g.x, w: g.weight.buffer, dy: g.dy, rinv: g.rinv, score: target(g.block, g.name),
    })],
  };
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
  const dev = model.rt.device;
  const L = model.config.numLayers;
  const SLOTS = blockTensorSpecs(model.config).length;
  const total = L + 2;
  const ledger = new BufferLedger(dev);
  try {
    // GPU validation / out-of-memory errors surface as a GpuError instead of wrong scores
    return await withErrorScope(dev, 'taylor scores', async () => {
      checkCancelled(opts.signal);
      const scores = ledger.track(() => createStorageBuffer(dev, L * SLOTS * 4, 'taylor.scores'));
      let loss = NaN;
      let done = 0;
      const pass = backward(model, ids, N, T, scoreConsumer(model.config, scores), { ledger, logitsBudgetBytes: opts.logitsBudgetBytes });
      for await (const s of pass) {
        if (s.stage === 'loss') {
          const [nllSum, count] = await readF32(dev, s.loss, 2);
          loss = nllSum! / count!;
        }
        opts.onProgress?.(++done, total, s.stage === 'forward' ? 'forward' : s.stage === 'loss' ? 'LM head and loss' : `block ${s.block}`);
        checkCancelled(opts.signal);
      }
      const flat = await readF32(dev, scores, L * SLOTS);
      const perWeight = Array.from({ length: L }, (_, i) => Array.from(flat.subarray(i * SLOTS, (i + 1) * SLOTS)));
      return {
        perWeight,
        perBlock: perWeight.map((s) => s.reduce((x, y) => x + y, 0)),
        loss,
        peakBytes: ledger.peak,
      };
    });
  } finally {
    ledger.freeAll();
  }
}
