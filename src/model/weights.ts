/** The loaded checkpoint's tensors, grouped the way the forward pass uses them. */
import type { GpuTensor } from '../gpu/tensor';
import { outputWeight, type LoadedCheckpoint } from '../io/load';

export interface BlockWeights {
  inputNorm: GpuTensor;
  q: GpuTensor;
  k: GpuTensor;
  v: GpuTensor;
  o: GpuTensor;
  postNorm: GpuTensor;
  gate: GpuTensor;
  up: GpuTensor;
  down: GpuTensor;
}

/** The nine weights the Taylor and magnitude criteria score, in the seed's order. */
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

export interface ModelWeights {
  embed: GpuTensor;
  blocks: BlockWeights[];
  finalNorm: GpuTensor;
  /** lm_head, or the embedding when tied. */
  head: GpuTensor;
}

export function groupWeights(ckpt: Pick<LoadedCheckpoint, 'config' | 'tensors'>): ModelWeights {
  const t = (name: string): GpuTensor => {
    const tensor = ckpt.tensors.get(name);
    if (!tensor) throw new Error(`checkpoint has no tensor ${name}`);
    return tensor;
  };
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < ckpt.config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    blocks.push({
      inputNorm: t(`${p}input_layernorm.weight`),
      q: t(`${p}self_attn.q_proj.weight`),
      k: t(`${p}self_attn.k_proj.weight`),
      v: t(`${p}self_attn.v_proj.weight`),
      o: t(`${p}self_attn.o_proj.weight`),
      postNorm: t(`${p}post_attention_layernorm.weight`),
      gate: t(`${p}mlp.gate_proj.weight`),
      up: t(`${p}mlp.up_proj.weight`),
      down: t(`${p}mlp.down_proj.weight`),
    });
  }
  return { embed: t('model.embed_tokens.weight'), blocks, finalNorm: t('model.norm.weight'), head: outputWeight(ckpt) };
}

/** The weights of block i in BLOCK_WEIGHT_NAMES order. */
export function blockTensors(b: BlockWeights): GpuTensor[] {
  return [b.q, b.k, b.v, b.o, b.gate, b.up, b.down, b.inputNorm, b.postNorm];
}
