/**
 * Finds and validates a checkpoint in a source before any weight byte is read: config.json,
 * model.safetensors or model.safetensors.index.json + shards, every header, every tensor the
 * config needs with its Hugging Face shape.
 */
import { expectedTensors, parseConfig, type ModelConfig, type TensorSpec } from './config';
import {
  ExtraBlocksError,
  MissingTensorError,
  NoWeightsError,
  PickleCheckpointError,
  ShardIndexError,
  TensorShapeError,
} from './errors';
import { layoutFingerprint } from './fingerprint';
import { readSafetensorsHeader, type SafetensorsHeader, type TensorEntry } from './safetensors';
import { checkFileName, type CheckpointSource } from './source';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

export interface PlannedTensor extends TensorEntry {
  spec: TensorSpec;
}

export interface CheckpointIndex {
  source: CheckpointSource;
  config: ModelConfig;
  /** config.json as parsed JSON (export writes it back). */
  rawConfig: Record<string, unknown>;
  /** The safetensors files, in load order. */
  files: SafetensorsHeader[];
  /** Every tensor in the files, by name. */
  all: Map<string, TensorEntry>;
  /** The tensors the engine loads, in load order (file, then offset). */
  planned: PlannedTensor[];
  /** Tensors present but not needed (e.g. rotary inv_freq, lm_head of a tied model). */
  extra: string[];
  /** SHA-256 over the canonical config and the tensor index (no weight bytes). */
  layoutFingerprint: string;
}

/** Reads config.json and every safetensors header of the checkpoint in `source`, validating all of it. */
export async function inspectCheckpoint(source: CheckpointSource, signal?: AbortSignal): Promise<CheckpointIndex> {
  const configText = await source.readText('config.json', signal);
  const config = parseConfig(configText);
  const rawConfig = JSON.parse(configText) as Record<string, unknown>;

  const files = await findWeightFiles(source, signal);
  const headers: SafetensorsHeader[] = [];
  for (const file of files.shards) headers.push(await readSafetensorsHeader(source, file, signal));

  const all = new Map<string, TensorEntry>();
  for (const h of headers) {
    for (const t of h.tensors) {
      const prev = all.get(t.name);
      if (prev) throw new ShardIndexError(`tensor "${t.name}" appears in both ${prev.file} and ${t.file}`);
      all.set(t.name, t);
    }
  }
  if (files.weightMap) {
    for (const [name, file] of Object.entries(files.weightMap)) {
      const t = all.get(name);
      if (t && t.file !== file) throw new ShardIndexError(`weight_map puts "${name}" in ${file}, but it is in ${t.file}`);
      if (!t) throw new ShardIndexError(`weight_map lists "${name}" in ${file}, but ${file} does not contain it`);
    }
  }

  const beyond = new Set<number>();
  for (const name of all.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m && Number(m[1]) >= config.numLayers) beyond.add(Number(m[1]));
  }
  if (beyond.size) throw new ExtraBlocksError(config.numLayers, [...beyond].sort((a, b) => a - b));

  const specs = expectedTensors(config);
  const missing = specs.filter((s) => !all.has(s.name)).map((s) => s.name);
  if (missing.length) throw new MissingTensorError(missing);
  const planned: PlannedTensor[] = specs.map((spec) => {
    const t = all.get(spec.name)!;
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new TensorShapeError(spec.name, spec.shape, t.shape);
    }
    return { ...t, spec };
  });
  const fileOrder = new Map(headers.map((h, i) => [h.file, i]));
  planned.sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.begin - b.begin);
  const needed = new Set(specs.map((s) => s.name));
  const extra = [...all.keys()].filter((n) => !needed.has(n)).sort();

  return {
    source,
    config,
    rawConfig,
    files: headers,
    all,
    planned,
    extra,
    layoutFingerprint: await layoutFingerprint(config, [...all.values()]),
  };
}

interface WeightFiles {
  shards: string[];
  weightMap: Record<string, string> | null;
}

const PICKLE_NAMES = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'consolidated.00.pth', 'model.pt'];

async function findWeightFiles(source: CheckpointSource, signal?: AbortSignal): Promise<WeightFiles> {
  const listed = source.list ? await source.list(signal) : null;
  const has = async (f: string) => (listed ? listed.includes(f) : source.exists(f, signal));

  if (await has(INDEX_FILE)) {
    const text = await source.readText(INDEX_FILE, signal);
    let index: unknown;
    try {
      index = JSON.parse(text);
    } catch (e) {
      throw new ShardIndexError(`not valid JSON: ${(e as Error).message}`);
    }
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (!map || typeof map !== 'object' || Array.isArray(map)) throw new ShardIndexError('no weight_map object');
    const weightMap: Record<string, string> = {};
    const shards: string[] = [];
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== 'string') throw new ShardIndexError(`weight_map["${name}"] is not a file name`);
      try {
        checkFileName(file);
      } catch {
        throw new ShardIndexError(`weight_map["${name}"] = ${JSON.stringify(file)} is not a plain file name`);
      }
      if (!file.endsWith('.safetensors')) throw new ShardIndexError(`weight_map["${name}"] = "${file}" is not a .safetensors file`);
      weightMap[name] = file;
      if (!shards.includes(file)) shards.push(file);
    }
    if (shards.length === 0) throw new ShardIndexError('weight_map is empty');
    shards.sort();
    return { shards, weightMap };
  }
  if (await has(SINGLE_FILE)) return { shards: [SINGLE_FILE], weightMap: null };
  if (listed) {
    const safetensors = listed.filter((f) => f.endsWith('.safetensors') && !f.includes('/'));
    if (safetensors.length > 0) return { shards: safetensors.sort(), weightMap: null };
    const pickles = listed.filter((f) => /\.(bin|pt|pth|ckpt)$/.test(f));
    if (pickles.length > 0) throw new PickleCheckpointError(source.name, pickles);
    throw new NoWeightsError(source.name);
  }
  const pickles: string[] = [];
  for (const f of PICKLE_NAMES) if (await source.exists(f, signal)) pickles.push(f);
  if (pickles.length > 0) throw new PickleCheckpointError(source.name, pickles);
  throw new NoWeightsError(source.name);
}
