/** The loaded checkpoint's tensors, grouped the way the forward pass uses them. */
import type { GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { blockTensorSpecs, type ModelConfig } from '../io/config';
import { outputWeight, type LoadedCheckpoint } from '../io/load';
import { offsetNormWeight } from '../kernels/norm-offset';

export interface BlockWeights {
  /** Original index of the block (its sliding window: config.windows[index]). */
  index: number;
  /** The RMSNorm weights as the forward applies them (Gemma: 1 + w, see `stored`). */
  inputNorm: GpuTensor;
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  o: GpuTensor;
  postNorm: GpuTensor;
  gate: GpuTensor;
  up: GpuTensor;
  down: GpuTensor;
  /** Projection biases of the family (Qwen2: q, k, v; Qwen3 with attention_bias: q, k, v, o). */
  bias: Partial<Record<'q' | 'k' | 'v' | 'o', GpuTensor>>;
  /** Qwen3: the per-head RMSNorm weights of q and k ([head_dim]). */
  qNorm?: GpuTensor;
  kNorm?: GpuTensor;
  /** Every tensor of the block as the checkpoint stores it, in blockTensorSpecs order (what the criteria score). */
  stored: GpuTensor[];
}

/** The LLaMA weights the Taylor and magnitude criteria score, in the seed's order (a family adds its own: blockWeightNames). */
export const BLOCK_WEIGHT_NAMES = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
  'input_layernorm',
  'post_attention_layernorm',
] as const;

/** Every tensor of a block (suffix after `model.layers.{i}.`) in the order the criteria score them (fixtures: weight_kinds). */
export function blockWeightNames(c: ModelConfig): string[] {
  return blockTensorSpecs(c).map((t) => t.name);
}

export interface ModelWeights {
  embed: GpuTensor;
  blocks: BlockWeights[];
  /** As the forward applies it (Gemma: 1 + w). */
  finalNorm: GpuTensor;
  /** lm_head, or the embedding when tied. */
  head: GpuTensor;
  /** Buffers made here (Gemma's 1 + w norms), destroyed with the model. */
  derived: GPUBuffer[];
}

/** `rt` is needed for a family whose norms scale by 1 + w (the applied weights are made on the GPU). */
export function groupWeights(ckpt: Pick<LoadedCheckpoint, 'config' | 'tensors'>, rt?: GpuRuntime): ModelWeights {
  const c = ckpt.config;
  const t = (name: string): GpuTensor => {
    const tensor = ckpt.tensors.get(name);
    if (!tensor) throw new Error(`checkpoint has no tensor ${name}`);
    return tensor;
  };
  const derived: GPUBuffer[] = [];
  const applied = (norm: GpuTensor): GpuTensor => {
    if (c.normOffset === 0) return norm;
    if (!rt) throw new Error('groupWeights: a model whose norms scale by 1 + w needs the GPU runtime');
    const offset = offsetNormWeight(rt, norm, c.normOffset);
    derived.push(offset.buffer);
    return offset;
  };
  const specs = blockTensorSpecs(c);
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const bias: BlockWeights['bias'] = {};
    for (const proj of c.projectionBias) bias[proj[0] as 'q' | 'k' | 'v' | 'o'] = t(`${p}self_attn.${proj}.bias`);
    blocks.push({
      index: i,
      inputNorm: applied(t(`${p}input_layernorm.weight`)),
      q: t(`${p}self_attn.q_proj.weight`),
      k: t(`${p}self_attn.k_proj.weight`),
      v: t(`${p}self_attn.v_proj.weight`),
      o: t(`${p}self_attn.o_proj.weight`),
      postNorm: applied(t(`${p}post_attention_layernorm.weight`)),
      gate: t(`${p}mlp.gate_proj.weight`),
      up: t(`${p}mlp.up_proj.weight`),
      down: t(`${p}mlp.down_proj.weight`),
      bias,
      qNorm: c.qkNorm ? t(`${p}self_attn.q_norm.weight`) : undefined,
      kNorm: c.qkNorm ? t(`${p}self_attn.k_norm.weight`) : undefined,
      stored: specs.map((s) => t(`${p}${s.name}`)),
    });
  }
  return { embed: t('model.embed_tokens.weight'), blocks, finalNorm: applied(t('model.norm.weight')), head: outputWeight(ckpt), derived };
}

/** The tensors of a block as the checkpoint stores them, in blockWeightNames order. */
export function blockTensors(b: BlockWeights): GpuTensor[] {
  return b.stored;
}
