/**
 * A tiny synthetic LLaMA checkpoint (random bytes, Hugging Face names and shapes) for tests of the
 * export and of tools/apply_mask.py. Not a working model: only the layout matters.
 */
import { mulberry32 } from '../util/random';
import { safetensorsPrefix } from './safetensors';
import type { MemoryTensor } from './checkpoint';

export interface SyntheticOptions {
  numLayers?: number;
  hidden?: number;
  intermediate?: number;
  vocab?: number;
  heads?: number;
  kvHeads?: number;
  dtype?: 'F16' | 'BF16' | 'F32';
  tied?: boolean;
  seed?: number;
  /** Extra top-level config entries (e.g. layer_types). */
  extraConfig?: Record<string, unknown>;
}

export interface SyntheticCheckpoint {
  configText: string;
  tensors: MemoryTensor[];
  files: Record<string, string>;
}

const DTYPE_BYTES = { F16: 2, BF16: 2, F32: 4 } as const;

export function syntheticCheckpoint(o: SyntheticOptions = {}): SyntheticCheckpoint {
  const L = o.numLayers ?? 5;
  const D = o.hidden ?? 8;
  const I = o.intermediate ?? 12;
  const V = o.vocab ?? 16;
  const H = o.heads ?? 2;
  const KV = o.kvHeads ?? 1;
  const hd = D / H;
  const dtype = o.dtype ?? 'F16';
  const tied = o.tied ?? false;
  const rand = mulberry32(o.seed ?? 7);
  const tensor = (name: string, shape: number[]): MemoryTensor => {
    const n = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    const data = new Uint8Array(n);
    if (dtype === 'F32') {
      const f = new Float32Array(data.buffer);
      for (let i = 0; i < f.length; i++) f[i] = (rand() - 0.5) * 4;
    } else if (dtype === 'BF16') {
      // The top half of a random f32 in [-2, 2).
      const u = new Uint16Array(data.buffer);
      const f = new Float32Array(1);
      const bits = new Uint32Array(f.buffer);
      for (let i = 0; i < u.length; i++) {
        f[0] = (rand() - 0.5) * 4;
        u[i] = bits[0]! >>> 16;
      }
    } else {
      // Random finite halves: sign + exponent below the max + mantissa.
      const u = new Uint16Array(data.buffer);
      for (let i = 0; i < u.length; i++) u[i] = Math.floor(rand() * 0x7000) | (rand() < 0.5 ? 0x8000 : 0);
    }
    return { name, dtype, shape, data };
  };
  const tensors: MemoryTensor[] = [tensor('model.embed_tokens.weight', [V, D])];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      tensor(`${p}input_layernorm.weight`, [D]),
      tensor(`${p}self_attn.q_proj.weight`, [H * hd, D]),
      tensor(`${p}self_attn.k_proj.weight`, [KV * hd, D]),
      tensor(`${p}self_attn.v_proj.weight`, [KV * hd, D]),
      tensor(`${p}self_attn.o_proj.weight`, [D, H * hd]),
      tensor(`${p}post_attention_layernorm.weight`, [D]),
      tensor(`${p}mlp.gate_proj.weight`, [I, D]),
      tensor(`${p}mlp.up_proj.weight`, [I, D]),
      tensor(`${p}mlp.down_proj.weight`, [D, I]),
    );
  }
  tensors.push(tensor('model.norm.weight', [D]));
  if (!tied) tensors.push(tensor('lm_head.weight', [V, D]));
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: D,
    intermediate_size: I,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: KV,
    head_dim: hd,
    hidden_act: 'silu',
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    tie_word_embeddings: tied,
    vocab_size: V,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: { F16: 'float16', BF16: 'bfloat16', F32: 'float32' }[dtype],
    ...o.extraConfig,
  };
  // Hand-formatted like transformers writes it (1e-05, 10000.0), so byte-preservation is visible.
  const configText = `${JSON.stringify(config, null, 2).replace('"rms_norm_eps": 0.00001', '"rms_norm_eps": 1e-05').replace('"rope_theta": 10000,', '"rope_theta": 10000.0,')}\n`;
  return {
    configText,
    tensors,
    files: {
      'generation_config.json': '{\n  "bos_token_id": 1,\n  "eos_token_id": 2,\n  "max_new_tokens": 64\n}\n',
      'tokenizer.json': '{"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}\n',
      'tokenizer_config.json': '{"bos_token": "<s>", "eos_token": "</s>"}\n',
      'special_tokens_map.json': '{"bos_token": "<s>"}\n',
      'README.md': '# synthetic\n',
    },
  };
}

/** The checkpoint as files of a Hugging Face folder: one safetensors file (or shards by layer) + config + files. */
export function syntheticFolderFiles(c: SyntheticCheckpoint, shards = 1): Record<string, Uint8Array> {
  const enc = new TextEncoder();
  const out: Record<string, Uint8Array> = { 'config.json': enc.encode(c.configText) };
  for (const [k, v] of Object.entries(c.files)) out[k] = enc.encode(v);
  const groups: MemoryTensor[][] = Array.from({ length: shards }, () => []);
  c.tensors.forEach((t, i) => groups[Math.floor((i * shards) / c.tensors.length)]!.push(t));
  const weightMap: Record<string, string> = {};
  groups.forEach((g, i) => {
    const file = shards === 1 ? 'model.safetensors' : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    for (const t of g) weightMap[t.name] = file;
    const parts = [safetensorsPrefix(g.map((t) => ({ ...t, byteLength: t.data.byteLength }))), ...g.map((t) => t.data)];
    out[file] = new Uint8Array(parts.flatMap((p) => [...p]));
  });
  if (shards > 1) {
    const total = c.tensors.reduce((a, t) => a + t.data.byteLength, 0);
    out['model.safetensors.index.json'] = enc.encode(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  }
  return out;
}
