/**
 * The model families the lab runs: LLaMA-like decoders that differ in a few named places. Each
 * entry says what its config.json means where it differs from LLaMA (Hugging Face's config-class
 * defaults for missing keys, transformers 5.x); parseConfig turns that into FamilyTraits, which the
 * loader (expectedTensors), the block forward and backward, the criteria and the export read.
 */
import { f16BitsToF32, f32ToF16Bits } from '../util/f16';
import { InvalidConfigError, UnsupportedConfigError } from './errors';

export type Family = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma';
/** The gated MLP's activation: act(x Wg^T) * (x Wu^T). */
export type GateActivation = 'silu' | 'gelu_tanh';
export type BiasedProjection = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj';

/** What a family changes in the LLaMA block, as derived from one config.json. */
export interface FamilyTraits {
  family: Family;
  /** Projections with a bias (Qwen2: q, k, v; Qwen3 with attention_bias: q, k, v, o). */
  projectionBias: BiasedProjection[];
  /** Qwen3: RMSNorm over each head of q and k (one [head_dim] weight each) before RoPE. */
  qkNorm: boolean;
  /** Gemma: every RMSNorm scales by (1 + w); else 0. */
  normOffset: 0 | 1;
  activation: GateActivation;
  /** Keys a query sees per layer (itself included: t - W < s <= t), null = all earlier keys. */
  windows: (number | null)[];
  /** Gemma: embeddings times sqrt(hidden) rounded to the model dtype; null = none. */
  embedScale: number | null;
}

export interface FamilyEntry {
  family: Family;
  architecture: string;
  modelType: string;
  /** One line on what differs from LLaMA (`info`, the Blocks panel, the README). */
  differs: string;
}

export const FAMILIES: readonly FamilyEntry[] = [
  { family: 'llama', architecture: 'LlamaForCausalLM', modelType: 'llama', differs: 'the reference layout (SmolLM2, Llama 3.x, TinyLlama)' },
  { family: 'mistral', architecture: 'MistralForCausalLM', modelType: 'mistral', differs: 'sliding-window causal attention (sliding_window keys; missing = 4096, null = none)' },
  { family: 'qwen2', architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', differs: 'q/k/v projection biases; sliding window only with use_sliding_window (layers >= max_window_layers)' },
  { family: 'qwen3', architecture: 'Qwen3ForCausalLM', modelType: 'qwen3', differs: 'RMSNorm over each head of q and k before RoPE; head_dim from the config; attention_bias adds q/k/v/o biases' },
  { family: 'gemma', architecture: 'GemmaForCausalLM', modelType: 'gemma', differs: 'GELU (tanh) gated MLP; RMSNorm x (1 + w); embeddings x sqrt(hidden) in the model dtype; tied head; head_dim 256' },
];

export const SUPPORTED_ARCHITECTURES = FAMILIES.map((f) => f.architecture);

export function familyEntry(family: Family): FamilyEntry {
  return FAMILIES.find((f) => f.family === family)!;
}

/** HF config-class defaults that are not LLaMA's. */
const HEAD_DIM_DEFAULT: Partial<Record<Family, number>> = { qwen3: 128, gemma: 256 };
const TIE_DEFAULT: Partial<Record<Family, boolean>> = { gemma: true };
const SLIDING_WINDOW_DEFAULT = 4096;
const MAX_WINDOW_LAYERS_DEFAULT = 28;

type Json = Record<string, unknown>;

/** head_dim when config.json has none (null = hidden / heads). */
export function defaultHeadDim(family: Family): number | null {
  return HEAD_DIM_DEFAULT[family] ?? null;
}

export function defaultTie(family: Family): boolean {
  return TIE_DEFAULT[family] ?? false;
}

/** The family's differences from LLaMA in this config (validated). */
export function familyTraits(family: Family, c: Json, numLayers: number, hiddenSize: number, torchDtype: string | null): FamilyTraits {
  const act = c.hidden_act ?? (family === 'gemma' ? c.hidden_activation : undefined) ?? 'silu';
  let activation: GateActivation;
  if (family === 'gemma') {
    // transformers 5.x reads Gemma's official "gelu" as the tanh form Gemma was trained with (GemmaConfig).
    if (act !== 'gelu' && act !== 'gelu_pytorch_tanh') throw new UnsupportedConfigError('hidden_act', act, '"gelu" or "gelu_pytorch_tanh" (Gemma: GELU, tanh approximation)');
    activation = 'gelu_tanh';
  } else {
    if (act !== 'silu') throw new UnsupportedConfigError('hidden_act', act, '"silu"');
    activation = 'silu';
  }
  if (c.mlp_bias !== undefined && c.mlp_bias !== null && c.mlp_bias !== false) {
    throw new UnsupportedConfigError('mlp_bias', c.mlp_bias, 'false (no family the lab runs has MLP biases)');
  }
  const attentionBias = c.attention_bias ?? false;
  if (typeof attentionBias !== 'boolean') throw new InvalidConfigError('attention_bias', `must be true or false, got ${JSON.stringify(attentionBias)}`);
  if (attentionBias && family !== 'qwen3') {
    throw new UnsupportedConfigError('attention_bias', true, `false for ${familyEntry(family).architecture} (Qwen2 has its q/k/v biases by architecture; Qwen3 may set it)`);
  }
  const projectionBias: BiasedProjection[] = family === 'qwen2' ? ['q_proj', 'k_proj', 'v_proj'] : attentionBias ? ['q_proj', 'k_proj', 'v_proj', 'o_proj'] : [];
  return {
    family,
    projectionBias,
    qkNorm: family === 'qwen3',
    normOffset: family === 'gemma' ? 1 : 0,
    activation,
    windows: layerWindows(family, c, numLayers),
    embedScale: family === 'gemma' ? roundToDtype(Math.sqrt(hiddenSize), torchDtype) : null,
  };
}

/** The sliding window of every layer (null: full causal). */
function layerWindows(family: Family, c: Json, L: number): (number | null)[] {
  const none = Array<number | null>(L).fill(null);
  if (family === 'llama' || family === 'gemma') return none;
  if ((family === 'qwen2' || family === 'qwen3') && c.use_sliding_window !== true) return none;
  const w = 'sliding_window' in c ? c.sliding_window : SLIDING_WINDOW_DEFAULT;
  if (w === null) return none;
  if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 1) throw new InvalidConfigError('sliding_window', `must be a positive integer or null, got ${JSON.stringify(w)}`);
  if (family === 'mistral') return none.map(() => w);
  if (c.layer_types != null) {
    const types = c.layer_types;
    if (!Array.isArray(types) || types.length !== L || types.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw new InvalidConfigError('layer_types', `must list "sliding_attention" or "full_attention" for each of the ${L} layers`);
    }
    return types.map((t) => (t === 'sliding_attention' ? w : null));
  }
  const from = c.max_window_layers ?? MAX_WINDOW_LAYERS_DEFAULT;
  if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0) throw new InvalidConfigError('max_window_layers', `must be a non-negative integer, got ${JSON.stringify(from)}`);
  return none.map((_, i) => (i >= from ? w : null));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A value as the model's dtype holds it (HF casts Gemma's sqrt(hidden) to it), rounded to nearest even. */
export function roundToDtype(value: number, dtype: string | null): number {
  if (dtype === 'float16') return f16BitsToF32(f32ToF16Bits(value));
  f32[0] = value;
  if (dtype === 'bfloat16') {
    const x = u32[0]!;
    u32[0] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) << 16;
  }
  return f32[0]!;
}

/** What this config changes from LLaMA, one short phrase each (`info`, the model facts); empty for a plain LLaMA. */
export function familyDifferences(c: FamilyTraits & { hiddenSize: number; numHeads: number; headDim: number; tieWordEmbeddings: boolean }): string[] {
  const out: string[] = [];
  if (c.projectionBias.length) out.push(`${c.projectionBias.map((p) => p[0]).join('/')} projection biases`);
  if (c.qkNorm) out.push('q/k RMSNorm per head');
  if (c.normOffset) out.push('RMSNorm x (1 + w)');
  if (c.activation === 'gelu_tanh') out.push('GELU (tanh) gated MLP');
  if (c.embedScale !== null) out.push(`embeddings x ${c.embedScale}`);
  const windowed = c.windows.map((w, i) => [w, i] as const).filter(([w]) => w !== null);
  if (windowed.length) {
    const sizes = [...new Set(windowed.map(([w]) => w))].join('/');
    const blocks = windowed.length === c.windows.length ? 'every block' : `blocks ${windowed.map(([, i]) => i).join(', ')}`;
    out.push(`sliding window ${sizes} (${blocks})`);
  }
  if (c.headDim * c.numHeads !== c.hiddenSize) out.push(`head_dim ${c.headDim} (heads x head_dim != hidden)`);
  if (c.family !== 'llama' && c.tieWordEmbeddings) out.push('tied head');
  return out;
}
