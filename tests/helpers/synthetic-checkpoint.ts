/**
 * Synthetic Hugging Face LLaMA checkpoints for loader tests: tiny shapes, seeded random weights in
 * F32/F16/BF16, single-file or sharded, tied or not, GQA, llama3 rope scaling. Also the reference
 * for what the GPU must hold after a load, and a tracker of live GPU buffers.
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeviceBuffer } from '../../src/gpu/device-buffers';
import { encodeSafetensors, safetensorsPrefix, type SafetensorsDType } from '../../src/io/safetensors';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { mulberry32 } from '../../src/util/random';

export interface SyntheticOptions {
  hidden?: number;
  intermediate?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  vocab?: number;
  dtype?: SafetensorsDType;
  tied?: boolean;
  llama3Rope?: boolean;
  /** Number of shards (1: model.safetensors; more: model-0000i-of-0000n.safetensors + index). */
  shards?: number;
  /** Tensors that get values beyond the f16 range (|x| ~ 70000). */
  overflow?: string[];
  /** Extra tensors written but not needed by the config (e.g. rotary inv_freq). */
  extra?: boolean;
  seed?: number;
  /** Per-dtype override: tensor name -> dtype. */
  dtypes?: Record<string, SafetensorsDType>;
}

export interface SyntheticTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

export interface SyntheticCheckpoint {
  config: Record<string, unknown>;
  tensors: SyntheticTensor[];
  /** File name -> bytes (config.json, *.safetensors, index). */
  files: Map<string, Uint8Array>;
}

export function syntheticConfig(o: SyntheticOptions = {}): Record<string, unknown> {
  const hidden = o.hidden ?? 16;
  const heads = o.heads ?? 4;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: o.intermediate ?? 40,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: heads,
    num_key_value_heads: o.kvHeads ?? heads,
    ...(o.headDim ? { head_dim: o.headDim } : {}),
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    rope_theta: o.llama3Rope ? 500000 : 10000,
    rope_scaling: o.llama3Rope
      ? { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }
      : null,
    tie_word_embeddings: o.tied ?? false,
    vocab_size: o.vocab ?? 37,
    bos_token_id: 1,
    eos_token_id: 2,
    max_position_embeddings: 256,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[o.dtype ?? 'F32'],
    attention_bias: false,
    mlp_bias: false,
  };
}

/** The HF tensor names and shapes a config implies (written independently of src/io/config.ts). */
export function tensorShapes(config: Record<string, unknown>): [string, number[]][] {
  const h = config.hidden_size as number;
  const f = config.intermediate_size as number;
  const heads = config.num_attention_heads as number;
  const kv = config.num_key_value_heads as number;
  const hd = (config.head_dim as number | undefined) ?? h / heads;
  const v = config.vocab_size as number;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [v, h]]];
  for (let i = 0; i < (config.num_hidden_layers as number); i++) {
    const p = `model.layers.${i}.`;
    out.push(
      [`${p}self_attn.q_proj.weight`, [heads * hd, h]],
      [`${p}self_attn.k_proj.weight`, [kv * hd, h]],
      [`${p}self_attn.v_proj.weight`, [kv * hd, h]],
      [`${p}self_attn.o_proj.weight`, [h, heads * hd]],
      [`${p}mlp.gate_proj.weight`, [f, h]],
      [`${p}mlp.up_proj.weight`, [f, h]],
      [`${p}mlp.down_proj.weight`, [h, f]],
      [`${p}input_layernorm.weight`, [h]],
      [`${p}post_attention_layernorm.weight`, [h]],
    );
  }
  out.push(['model.norm.weight', [h]]);
  if (!config.tie_word_embeddings) out.push(['lm_head.weight', [v, h]]);
  return out;
}

/** Random values encoded in `dtype` (little-endian bytes). */
export function randomTensorBytes(count: number, dtype: SafetensorsDType, next: () => number, overflow = false): Uint8Array {
  const f = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.max(next(), 1e-12);
    f[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next()) * 0.5;
  }
  if (overflow && count > 3) f[count - 2] = -70000; // late in the tensor: found after earlier chunks were uploaded
  if (dtype === 'F32') return new Uint8Array(f.buffer);
  const h = new Uint16Array(count);
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < count; i++) h[i] = dtype === 'F16' ? f32ToF16Bits(f[i]!) : bits[i]! >>> 16;
  return new Uint8Array(h.buffer);
}

export function makeSyntheticCheckpoint(o: SyntheticOptions = {}): SyntheticCheckpoint {
  const config = syntheticConfig(o);
  const next = mulberry32(o.seed ?? 1234);
  const tensors: SyntheticTensor[] = tensorShapes(config).map(([name, shape]) => {
    const dtype = o.dtypes?.[name] ?? o.dtype ?? 'F32';
    const count = shape.reduce((a, b) => a * b, 1);
    return { name, dtype, shape, data: randomTensorBytes(count, dtype, next, o.overflow?.includes(name)) };
  });
  if (o.extra) {
    const half = ((config.hidden_size as number) / (config.num_attention_heads as number)) / 2;
    tensors.push({ name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [half], data: randomTensorBytes(half, 'F32', next) });
  }
  const files = new Map<string, Uint8Array>();
  files.set('config.json', new TextEncoder().encode(JSON.stringify(config, null, 2)));
  const shards = o.shards ?? 1;
  if (shards <= 1) {
    files.set('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(tensors.length / shards);
    for (let s = 0; s < shards; s++) {
      const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = tensors.slice(s * per, (s + 1) * per);
      for (const t of part) weightMap[t.name] = name;
      files.set(name, encodeSafetensors(part, { format: 'pt' }));
    }
    const total = tensors.reduce((a, t) => a + t.data.byteLength, 0);
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap })));
  }
  return { config, tensors, files };
}

export async function writeCheckpointFiles(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
}

/** File objects (as a folder picker gives them) for an in-memory checkpoint. */
export function asFiles(files: Map<string, Uint8Array>, folder = 'ckpt'): File[] {
  return [...files].map(([name, bytes]) => {
    const file = new File([bytes as Uint8Array<ArrayBuffer>], name);
    Object.defineProperty(file, 'webkitRelativePath', { value: `${folder}/${name}` });
    return file;
  });
}

/**
 * Writes a large single-file checkpoint tensor by tensor (never holding the file in memory):
 * weights filled with a repeated random block. Returns the file size and the largest tensor's bytes.
 */
export async function writeLargeCheckpoint(dir: string, o: SyntheticOptions): Promise<{ fileBytes: number; largestTensorBytes: number }> {
  const config = syntheticConfig(o);
  const dtype = o.dtype ?? 'F16';
  const shapes = tensorShapes(config);
  const entries = shapes.map(([name, shape]) => ({ name, dtype, shape, byteLength: shape.reduce((a, b) => a * b, 1) * (dtype === 'F32' ? 4 : 2) }));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const handle = await open(join(dir, 'model.safetensors'), 'w');
  try {
    const prefix = safetensorsPrefix(entries);
    await handle.write(prefix);
    const block = new Uint8Array(4 << 20);
    const next = mulberry32(o.seed ?? 7);
    const pattern = randomTensorBytes(block.byteLength / (dtype === 'F32' ? 4 : 2), dtype, next);
    block.set(pattern);
    for (const e of entries) {
      for (let left = e.byteLength; left > 0; ) {
        const n = Math.min(left, block.byteLength);
        await handle.write(block, 0, n);
        left -= n;
      }
    }
    const fileBytes = prefix.byteLength + entries.reduce((a, e) => a + e.byteLength, 0);
    return { fileBytes, largestTensorBytes: Math.max(...entries.map((e) => e.byteLength)) };
  } finally {
    await handle.close();
  }
}

/** What the GPU must hold for `t` stored as `storage` (reference conversions from src/util/f16). */
export function expectedStorageBytes(t: SyntheticTensor, storage: 'f32' | 'f16'): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const values = new Float64Array(n);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const sameAsSource = (t.dtype === 'F32' && storage === 'f32') || (t.dtype === 'F16' && storage === 'f16');
  if (sameAsSource) return t.data;
  for (let i = 0; i < n; i++) {
    values[i] =
      t.dtype === 'F32' ? view.getFloat32(i * 4, true) : t.dtype === 'F16' ? f16BitsToF32(view.getUint16(i * 2, true)) : bf16BitsToF32(view.getUint16(i * 2, true));
  }
  if (storage === 'f32') return new Uint8Array(Float32Array.from(values).buffer);
  const h = new Uint16Array(n);
  for (let i = 0; i < n; i++) h[i] = f32ToF16Bits(values[i]!);
  return new Uint8Array(h.buffer);
}

/** Counts GPU buffers created and destroyed on `device` from now on. */
export function trackBuffers(device: GPUDevice): { alive: () => string[]; created: () => number; restore: () => void } {
  const live = new Map<GPUBuffer, string>();
  let count = 0;
  const original = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = original(descriptor);
    count++;
    live.set(buffer, descriptor.label ?? '');
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return {
    // The device's shared tables and scratch (deviceBuffer) live as long as the device, by design.
    alive: () => [...live].filter(([b]) => !isDeviceBuffer(b)).map(([, label]) => label),
    created: () => count,
    restore: () => {
      device.createBuffer = original;
    },
  };
}
