/**
 * The memory plan: from config.json alone, the GPU bytes each weight format needs (weights, KV cache
 * for a chosen context, activations, scoring and training workspaces) against the adapter's limits,
 * which formats fit, and the one to recommend. The page shows it before loading, the CLI prints it
 * (`info --plan`), and a load whose plan does not fit is refused with it.
 */
import type { ModelConfig } from '../io/config';
import { activationBytes } from '../model/activations';
import { backwardMemoryEstimate } from '../model/backward';
import type { FloatDType } from '../gpu/tensor';
import { WEIGHT_FORMATS, quantizes, weightBytes, type WeightFormat } from './formats';

export interface PlanLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface PlanOptions {
  /** Tokens of KV cache (one sequence; the Generate panel runs two, one after the other). Default 2048 or the model's limit. */
  context?: number;
  /** Calibration batch of the criteria (the seed: 10 x 128). */
  calibration?: { n: number; t: number };
  /** Healing micro-batch (the lab's default: 4 x 64) and LoRA rank. */
  training?: { batch: number; t: number; rank: number };
  /** Quantize the embedding and LM head too. */
  embeddings?: boolean;
  /** GPU memory the plan may use (default: the loader's budget, max(8 GiB, 8 x maxBufferSize)). */
  budgetBytes?: number;
}

export interface FormatPlan {
  format: WeightFormat;
  /** Weights held after loading. */
  weights: number;
  /** The largest float tensor the load holds while it quantizes (0 for 'float': nothing transient). */
  loadTransient: number;
  kvCache: number;
  /** Batched forward over the calibration batch: activations and the LM-head logits chunk. */
  activations: number;
  /** Taylor's backward over the calibration batch. */
  scoring: number;
  /** LoRA healing: the backward over a micro-batch plus adapters, gradients and AdamW moments. */
  training: number;
  /** The peak: weights plus the load's transient, or plus the KV cache and the largest workspace. */
  peak: number;
  /** The largest single buffer (must fit maxBufferSize; wider than a binding it is read in row windows). */
  largestBuffer: number;
  fits: boolean;
  /** Why it does not fit (absent when it does). */
  reason?: string;
}

export interface MemoryPlan {
  formats: FormatPlan[];
  /** The highest-precision format that fits, or null when none does. */
  recommended: WeightFormat | null;
  budgetBytes: number;
  context: number;
}

/** The loader's default budget (src/io/load.ts checkGpuMemory): WebGPU does not tell how much memory a GPU has. */
export function defaultBudget(limits: PlanLimits): number {
  return Math.max(8 * 2 ** 30, 8 * limits.maxBufferSize);
}

/** Storage of float tensors as the loader keeps them: F16 and BF16 as f16, F32 as f32. */
function floatStorage(c: ModelConfig): FloatDType {
  return c.torchDtype === 'float32' ? 'f32' : 'f16';
}

/** [name, shape] of every weight the loader keeps, per block and outside (tied heads once). */
function weightShapes(c: ModelConfig): { name: string; shape: [number, number] | [number] }[] {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const out: { name: string; shape: [number, number] | [number] }[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    out.push(
      { name: `${p}self_attn.q_proj.weight`, shape: [qd, H] }, { name: `${p}self_attn.k_proj.weight`, shape: [kvd, H] },
      { name: `${p}self_attn.v_proj.weight`, shape: [kvd, H] }, { name: `${p}self_attn.o_proj.weight`, shape: [H, qd] },
      { name: `${p}mlp.gate_proj.weight`, shape: [I, H] }, { name: `${p}mlp.up_proj.weight`, shape: [I, H] },
      { name: `${p}mlp.down_proj.weight`, shape: [H, I] },
      { name: `${p}input_layernorm.weight`, shape: [H] }, { name: `${p}post_attention_layernorm.weight`, shape: [H] },
    );
  }
  out.push({ name: 'model.embed_tokens.weight', shape: [c.vocabSize, H] }, { name: 'model.norm.weight', shape: [H] });
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, H] });
  return out;
}

function planFormat(c: ModelConfig, format: WeightFormat, limits: PlanLimits, o: Required<Omit<PlanOptions, 'budgetBytes'>>, budget: number): FormatPlan {
  const float = floatStorage(c);
  let weights = 0;
  let loadTransient = 0;
  let largestBuffer = 0;
  for (const t of weightShapes(c)) {
    const isNorm = t.shape.length === 1;
    const q = format !== 'float' && quantizes(t.name, t.shape, o.embeddings);
    const floatBytes = weightBytes(isNorm ? 'f32' : float, t.shape);
    const bytes = q ? weightBytes(format, t.shape) : floatBytes;
    weights += bytes;
    if (q) loadTransient = Math.max(loadTransient, floatBytes);
    largestBuffer = Math.max(largestBuffer, floatBytes);
  }
  const kvd = c.numKvHeads * c.headDim;
  const kvCache = 2 * c.numLayers * o.context * kvd * 4;
  const R = o.calibration.n * o.calibration.t;
  const logitsChunk = Math.min(R * c.vocabSize * 4, 256 << 20, limits.maxStorageBufferBindingSize);
  const activations = activationBytes(c, R) + logitsChunk;
  const scoring = backwardMemoryEstimate(c, o.calibration.n, o.calibration.t, undefined, limits.maxStorageBufferBindingSize);
  const H = c.hiddenSize;
  const qd = c.numHeads * c.headDim;
  const I = c.intermediateSize;
  // Per block: r x (in + out) for q, k, v, o, gate, up, down; parameters, gradients and two AdamW moments in f32.
  const loraParams = c.numLayers * o.training.rank * ((H + qd) + 2 * (H + kvd) + (qd + H) + 2 * (H + I) + (I + H));
  const training = backwardMemoryEstimate(c, o.training.batch, o.training.t, undefined, limits.maxStorageBufferBindingSize) + loraParams * 4 * 4;
  const peak = Math.max(weights + loadTransient, weights + kvCache + Math.max(activations, scoring, training));
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  let reason: string | undefined;
  if (largestBuffer > limits.maxBufferSize) reason = `a ${gib(largestBuffer)} tensor exceeds this adapter's maxBufferSize (${gib(limits.maxBufferSize)})`;
  else if (peak > budget) reason = `needs ${gib(peak)} at its peak, over the ${gib(budget)} budget`;
  return { format, weights, loadTransient, kvCache, activations, scoring, training, peak, largestBuffer, fits: reason === undefined, ...(reason ? { reason } : {}) };
}

/** The plan of every registered format for `config` on an adapter with `limits`. */
export function memoryPlan(config: ModelConfig, limits: PlanLimits, options: PlanOptions = {}): MemoryPlan {
  const budgetBytes = options.budgetBytes ?? defaultBudget(limits);
  const context = options.context ?? Math.min(2048, config.maxPositionEmbeddings);
  const o = {
    context,
    calibration: options.calibration ?? { n: 10, t: 128 },
    training: options.training ?? { batch: 4, t: 64, rank: 8 },
    embeddings: options.embeddings ?? false,
  };
  const formats = WEIGHT_FORMATS.map((f) => planFormat(config, f.id, limits, o, budgetBytes));
  return { formats, recommended: formats.find((f) => f.fits)?.format ?? null, budgetBytes, context };
}

/** One line of a plan for messages: "q4: weights 3.9 GiB, peak 4.4 GiB". */
export function describeFormatPlan(p: FormatPlan): string {
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  return `${p.format}: weights ${gib(p.weights)}, KV cache ${gib(p.kvCache)}, peak ${gib(p.peak)}${p.reason ? ` (${p.reason})` : ''}`;
}

/** Whether a format can be loaded beside the loaded model for the format comparison, and what it takes. */
export interface ComparisonFit {
  format: WeightFormat;
  /** The copy's weights (0 for the loaded format: it is measured on the loaded model). */
  weights: number;
  /** GPU memory in use while the copy is loaded and measured, the loaded model included. */
  needs: number;
  fits: boolean;
  reason?: string;
  /** The loaded model's own format. */
  loaded?: true;
}

/**
 * The format comparison's plan: a copy of the loaded model in another format is loaded beside it and
 * measured, then freed, one format at a time. A copy takes its weights plus the larger of its load's
 * transient float tensor and a decode run (KV cache for `context` tokens, the prefill's activations
 * over `prompt` tokens), on top of the `loadedBytes` the loaded model holds. The loaded format is
 * measured on the loaded model itself, so it always fits.
 */
export function comparisonPlan(config: ModelConfig, limits: PlanLimits, loaded: { bytes: number; format: WeightFormat; embeddings?: boolean }, o: { context: number; prompt: number; budgetBytes?: number }): ComparisonFit[] {
  const plan = memoryPlan(config, limits, { context: o.context, calibration: { n: 1, t: o.prompt }, embeddings: loaded.embeddings ?? false, ...(o.budgetBytes ? { budgetBytes: o.budgetBytes } : {}) });
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  return plan.formats.map((f) => {
    if (f.format === loaded.format) return { format: f.format, weights: 0, needs: loaded.bytes, fits: true, loaded: true as const };
    const needs = loaded.bytes + f.weights + Math.max(f.loadTransient, f.kvCache + f.activations);
    const reason = f.largestBuffer > limits.maxBufferSize ? `a ${gib(f.largestBuffer)} tensor exceeds this adapter's maxBufferSize (${gib(limits.maxBufferSize)})`
      : needs > plan.budgetBytes ? `needs ${gib(needs)} beside the loaded model's ${gib(loaded.bytes)}, over the ${gib(plan.budgetBytes)} budget`
      : undefined;
    return { format: f.format, weights: f.weights, needs, fits: !reason, ...(reason ? { reason } : {}) };
  });
}
