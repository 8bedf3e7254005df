/**
 * config.json of a Hugging Face LLaMA-family checkpoint, parsed into a typed, validated
 * ModelConfig. Anything the engine does not implement is refused here, naming the field, rather
 * than silently computing something else.
 */
import { InvalidConfigError, UnsupportedConfigError } from './errors';
import { FAMILIES, SUPPORTED_ARCHITECTURES, defaultHeadDim, defaultTie, familyTraits, type FamilyEntry, type FamilyTraits } from './families';

/** config.json architectures[0] of a supported family (src/io/families.ts). */
export type Architecture = string;

/** Llama 3.x frequency-dependent RoPE scaling (transformers' `_compute_llama3_parameters`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** The LLaMA block's shape plus what the family changes in it (FamilyTraits). */
export interface ModelConfig extends FamilyTraits {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (GQA when < numHeads); numHeads is a multiple of it. */
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** null: plain RoPE. */
  ropeScaling: Llama3RopeScaling | null;
  /** lm_head shares model.embed_tokens.weight (no lm_head.weight tensor is loaded). */
  tieWordEmbeddings: boolean;
  vocabSize: number;
  bosTokenId: number | null;
  /** All end-of-sequence ids (Llama 3 instruct lists several). */
  eosTokenIds: number[];
  /** Training dtype as declared ("bfloat16", "float16", "float32"), or null. */
  torchDtype: string | null;
  maxPositionEmbeddings: number;
}

/**
 * Upper bounds for the numbers that size memory (tensor lists, buffers, tables), checked before
 * anything is allocated: a hostile or mistyped config.json (num_hidden_layers: 1e8) is refused in
 * microseconds instead of exhausting the heap. Each is well above any released LLaMA-family model
 * (Llama 3.1 405B: 126 layers, hidden 16384, intermediate 53248, 128 heads; vocabularies to 256k;
 * contexts to 10M tokens).
 */
export const CONFIG_LIMITS = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 1024,
  vocab_size: 1 << 22,
  max_position_embeddings: 1 << 24,
  original_max_position_embeddings: 1 << 24,
} as const;

type Json = Record<string, unknown>;

/** Parses config.json text (or an already parsed object). */
export function parseConfig(input: string | unknown): ModelConfig {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new InvalidConfigError('(file)', `is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidConfigError('(file)', 'is not a JSON object');
  const c = raw as Json;

  const entry = parseArchitecture(c);
  const architecture = entry.architecture;
  if (c.quantization_config !== undefined && c.quantization_config !== null) {
    throw new UnsupportedConfigError('quantization_config', describe(c.quantization_config), 'none (unquantized F32/F16/BF16 weights)');
  }

  const hiddenSize = posInt(c, 'hidden_size');
  const intermediateSize = posInt(c, 'intermediate_size');
  const numLayers = posInt(c, 'num_hidden_layers');
  const numHeads = posInt(c, 'num_attention_heads');
  const numKvHeads = c.num_key_value_heads == null ? numHeads : posInt(c, 'num_key_value_heads');
  if (numHeads % numKvHeads !== 0) {
    throw new InvalidConfigError('num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  }
  let headDim: number;
  if (c.head_dim == null && defaultHeadDim(entry.family) !== null) {
    headDim = defaultHeadDim(entry.family)!;
  } else if (c.head_dim == null) {
    if (hiddenSize % numHeads !== 0) {
      throw new InvalidConfigError('head_dim', `is absent and hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads})`);
    }
    headDim = hiddenSize / numHeads;
  } else {
    headDim = posInt(c, 'head_dim');
  }
  if (headDim % 2 !== 0) throw new InvalidConfigError('head_dim', `(${headDim}) must be even for rotary embeddings`);

  const rmsNormEps = c.rms_norm_eps == null ? 1e-6 : posNumber(c, 'rms_norm_eps');
  const vocabSize = posInt(c, 'vocab_size');
  const maxPositionEmbeddings = c.max_position_embeddings == null ? 2048 : posInt(c, 'max_position_embeddings');

  // transformers >= 4.5x may nest rope settings in rope_parameters (rope_theta included).
  const ropeParams = isObject(c.rope_parameters) ? (c.rope_parameters as Json) : null;
  const thetaSource = ropeParams && ropeParams.rope_theta != null ? ropeParams : c;
  const ropeTheta = thetaSource.rope_theta == null ? 10000 : posNumber(thetaSource, 'rope_theta');
  const ropeScaling = parseRopeScaling(c.rope_scaling ?? ropeParams ?? null, c.rope_scaling != null ? 'rope_scaling' : 'rope_parameters');

  const tie = c.tie_word_embeddings ?? defaultTie(entry.family);
  if (typeof tie !== 'boolean') throw new InvalidConfigError('tie_word_embeddings', `must be true or false, got ${JSON.stringify(tie)}`);

  const bosTokenId = c.bos_token_id == null ? null : tokenId(c.bos_token_id, 'bos_token_id');
  const eos = c.eos_token_id;
  const eosTokenIds = eos == null ? [] : Array.isArray(eos) ? eos.map((v, i) => tokenId(v, `eos_token_id[${i}]`)) : [tokenId(eos, 'eos_token_id')];
  const dtypeField = c.torch_dtype ?? c.dtype ?? null;
  const torchDtype = typeof dtypeField === 'string' ? dtypeField : null;

  return {
    ...familyTraits(entry.family, c, numLayers, hiddenSize, torchDtype),
    architecture,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps,
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: tie,
    vocabSize,
    bosTokenId,
    eosTokenIds,
    torchDtype,
    maxPositionEmbeddings,
  };
}

function parseArchitecture(c: Json): FamilyEntry {
  const archs = c.architectures;
  if (archs != null) {
    if (!Array.isArray(archs) || archs.some((a) => typeof a !== 'string')) {
      throw new InvalidConfigError('architectures', 'must be a list of class names');
    }
    const found = (archs as string[]).map((a) => FAMILIES.find((f) => f.architecture === a)).find((f) => f !== undefined);
    if (!found) throw new UnsupportedConfigError('architectures', archs, SUPPORTED_ARCHITECTURES.join(', '));
    return found;
  }
  const modelType = c.model_type;
  const byType = FAMILIES.find((f) => f.modelType === modelType);
  if (byType) return byType;
  throw new UnsupportedConfigError(
    modelType == null ? 'architectures' : 'model_type',
    modelType ?? null,
    `${SUPPORTED_ARCHITECTURES.join(', ')} (model_type ${FAMILIES.map((f) => `"${f.modelType}"`).join(', ')})`,
  );
}

function parseRopeScaling(value: unknown, field: string): Llama3RopeScaling | null {
  if (value == null) return null;
  if (!isObject(value)) throw new InvalidConfigError(field, 'must be an object or null');
  const r = value as Json;
  const type = r.rope_type ?? r.type ?? 'default';
  if (type === 'default') return null;
  if (type !== 'llama3') {
    throw new UnsupportedConfigError(`${field}.rope_type`, type, 'null, "default" or "llama3"');
  }
  return {
    type: 'llama3',
    factor: posNumber(r, 'factor', field),
    lowFreqFactor: posNumber(r, 'low_freq_factor', field),
    highFreqFactor: posNumber(r, 'high_freq_factor', field),
    originalMaxPositionEmbeddings: posInt(r, 'original_max_position_embeddings', field),
  };
}

function posInt(o: Json, key: string, parent?: string): number {
  return positive(o, key, parent, true);
}

function posNumber(o: Json, key: string, parent?: string): number {
  return positive(o, key, parent, false);
}

function positive(o: Json, key: string, parent: string | undefined, integer: boolean): number {
  const v = o[key];
  const field = parent ? `${parent}.${key}` : key;
  if (v === undefined || v === null) throw new InvalidConfigError(field, 'is missing');
  if (typeof v !== 'number' || !(integer ? Number.isSafeInteger(v) : Number.isFinite(v)) || v <= 0) {
    throw new InvalidConfigError(field, `must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  const limit = (CONFIG_LIMITS as Record<string, number>)[key];
  if (limit !== undefined && v > limit) throw new InvalidConfigError(field, `= ${v} is beyond this lab's limit of ${limit}`);
  return v;
}

function tokenId(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidConfigError(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): unknown {
  return isObject(v) && typeof (v as Json).quant_method === 'string' ? { quant_method: (v as Json).quant_method } : v;
}

/** A tensor the engine needs from the checkpoint, with its Hugging Face shape. */
export interface TensorSpec {
  name: string;
  shape: number[];
  /** RMSNorm weights (small; kept in f32 by default). */
  isNorm: boolean;
}

/**
 * Every tensor of one block (the suffix after `model.layers.{i}.`) with its shape, in the order the
 * criteria score them (fixtures: criteria.weight_kinds): the LLaMA projections, the family's
 * projection biases and q/k norms, the MLP, the two norms.
 */
export function blockTensorSpecs(config: ModelConfig): TensorSpec[] {
  const { hiddenSize: h, intermediateSize: f, numHeads, numKvHeads, headDim } = config;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const biasWidth = { q_proj: q, k_proj: kv, v_proj: kv, o_proj: h };
  return [
    { name: 'self_attn.q_proj.weight', shape: [q, h], isNorm: false },
    { name: 'self_attn.k_proj.weight', shape: [kv, h], isNorm: false },
    { name: 'self_attn.v_proj.weight', shape: [kv, h], isNorm: false },
    { name: 'self_attn.o_proj.weight', shape: [h, q], isNorm: false },
    // biases and q/k norm weights are tiny vectors: kept in f32 like the norms
    ...config.projectionBias.map((p) => ({ name: `self_attn.${p}.bias`, shape: [biasWidth[p]], isNorm: true })),
    ...(config.qkNorm ? ['q_norm', 'k_norm'].map((n) => ({ name: `self_attn.${n}.weight`, shape: [headDim], isNorm: true })) : []),
    { name: 'mlp.gate_proj.weight', shape: [f, h], isNorm: false },
    { name: 'mlp.up_proj.weight', shape: [f, h], isNorm: false },
    { name: 'mlp.down_proj.weight', shape: [h, f], isNorm: false },
    { name: 'input_layernorm.weight', shape: [h], isNorm: true },
    { name: 'post_attention_layernorm.weight', shape: [h], isNorm: true },
  ];
}

/** Every tensor a model with this config needs, in load order. */
export function expectedTensors(config: ModelConfig): TensorSpec[] {
  const { hiddenSize: h, vocabSize: v } = config;
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [v, h], isNorm: false }];
  const block = blockTensorSpecs(config);
  for (let i = 0; i < config.numLayers; i++) {
    out.push(...block.map((t) => ({ ...t, name: `model.layers.${i}.${t.name}` })));
  }
  out.push({ name: 'model.norm.weight', shape: [h], isNorm: true });
  if (!config.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [v, h], isNorm: false });
  return out;
}
