/**
 * The pruned checkpoint: the kept blocks renumbered 0..L'-1, plus the embeddings, final norm and
 * head, written as a Hugging Face folder (safetensors, sharded past a size limit with
 * model.safetensors.index.json; config.json with num_hidden_layers updated; generation config and
 * tokenizer files copied). The write streams: tensors are read one at a time, piece by piece,
 * from an `ExportSource` and written to a `CheckpointSink` (a Node folder, Blobs, or a folder
 * picked through the File System Access API), so memory holds one piece at a time.
 *
 * tools/apply_mask.py implements the same layout rules in Python (tensor order, header bytes,
 * shard split, config edit); tests/unit/export-python.test.ts keeps the two byte-identical.
 */
import { INDEX_FILE, SINGLE_FILE } from '../io/checkpoint';
import { DTYPE_BYTES, safetensorsPrefix, type SafetensorsDType } from '../io/safetensors';
import { serializeMask, type PruningMask } from '../prune/mask';
import { bf16BitsToF32, f32ToF16Bits } from '../util/f16';

// ---------------------------------------------------------------------------------------------
// Interfaces.

export interface ExportTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  byteLength: number;
}

/** Where the export reads from. Only one tensor is read at a time. */
export interface ExportSource {
  /** Every tensor of the source checkpoint. */
  readonly tensors: readonly ExportTensor[];
  /** The bytes of one tensor, in pieces (any sizes) that add up to its byteLength. */
  chunks(name: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /** config.json, as text. */
  readConfig(signal?: AbortSignal): Promise<string>;
  /** Other files to copy as they are (see `isCopiedFile`): generation_config.json, tokenizer files... */
  readonly files: readonly string[];
  readFile(name: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface SinkFile {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Called instead of close when the export fails (delete the partial file where possible). */
  abort?(): Promise<void>;
}

/** Where the export writes: one file at a time, sequentially; the final size is known up front. */
export interface CheckpointSink {
  create(name: string, size: number): Promise<SinkFile>;
}

export class ExportError extends Error {
  override name = 'ExportError';
}

export { INDEX_FILE, SINGLE_FILE };
export const MASK_FILE = 'pruning_mask.json';
/** Where earlier CLI builds wrote a `prune --criterion` mask; never copied either (re-pruning must not carry it). */
export const LEGACY_MASK_FILE = 'pruning-mask.json';
/** Default shard limit: 2 GB as Hugging Face counts it ("2GB" = 2 * 10^9 bytes of tensor data). */
export const DEFAULT_SHARD_BYTES = 2_000_000_000;

const LAYER_RE = /^model\.layers\.(\d+)\.(.+)$/;

/**
 * Whether a file of a source checkpoint is copied into the pruned one: top-level files that are
 * not weights (safetensors, pickles, other frameworks'), not config.json (rewritten), not a
 * previous pruning mask, not hidden. tools/apply_mask.py applies the same rule.
 */
export function isCopiedFile(name: string): boolean {
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) return false;
  if (name === 'config.json' || name === INDEX_FILE || name === MASK_FILE || name === LEGACY_MASK_FILE) return false;
  if (/\.(safetensors|bin|pt|pth|ckpt|h5|msgpack|onnx|gguf|ggml)$/i.test(name)) return false;
  if (/\.index\.json$/i.test(name)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Planning (pure).

export interface PlannedTensor {
  /** Name in the source. */
  source: string;
  /** Name in the output (layer index renumbered). */
  name: string;
  /** Source dtype. */
  sourceDtype: SafetensorsDType;
  /** Output dtype (differs only when converting). */
  dtype: SafetensorsDType;
  shape: number[];
  /** Output byte length. */
  byteLength: number;
}

export interface PlannedShard {
  file: string;
  tensors: PlannedTensor[];
  /** Bytes of tensor data (without the header). */
  dataBytes: number;
}

export interface ExportPlan {
  numHiddenLayers: number;
  tensors: PlannedTensor[];
  shards: PlannedShard[];
  /** Sum of the output tensors' bytes (the index's metadata.total_size). */
  totalSize: number;
  /** Sum of the dropped tensors' bytes. */
  droppedBytes: number;
}

export interface PlanOptions {
  /** Convert F32/BF16 tensors to F16 (F16 and other dtypes are copied). */
  toF16?: boolean;
  /** Start a new shard when the next tensor would pass this many data bytes (default 2 GB). */
  maxShardBytes?: number;
}

/** Splits a name into text and number runs so "layers.10" sorts after "layers.9". */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length; // "01" vs "1"
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

/** Checks `kept` against a model of `numLayers` blocks: sorted, unique, in range, not empty. */
export function checkKept(kept: readonly number[], numLayers: number): void {
  if (kept.length === 0) throw new ExportError('no block is kept: a model needs at least one block');
  kept.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b >= numLayers) throw new ExportError(`kept block ${b} does not exist in a model of ${numLayers} blocks`);
    if (i > 0 && b <= kept[i - 1]!) throw new ExportError(`kept blocks must be sorted and unique (${kept[i - 1]} then ${b})`);
  });
}

/**
 * The output tensors (renamed, in natural name order) and their shards. Layer tensors of removed
 * blocks are dropped; every other tensor is kept under its own name (tied embeddings stay tied:
 * a source without lm_head.weight yields an output without it).
 */
export function planPrunedCheckpoint(tensors: readonly ExportTensor[], kept: readonly number[], numLayers: number, options: PlanOptions = {}): ExportPlan {
  checkKept(kept, numLayers);
  const newIndex = new Map(kept.map((b, j) => [b, j]));
  const seenLayers = new Set<number>();
  const out: PlannedTensor[] = [];
  let droppedBytes = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new ExportError(`tensor "${t.name}" appears twice in the source`);
    names.add(t.name);
    const size = DTYPE_BYTES[t.dtype];
    if (size === undefined) throw new ExportError(`tensor "${t.name}" has dtype ${String(t.dtype)}; supported: F32, F16, BF16`);
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (size * elements !== t.byteLength) {
      throw new ExportError(`tensor "${t.name}": shape [${t.shape.join(', ')}] x ${t.dtype} is ${size * elements} bytes, the source says ${t.byteLength}`);
    }
    let name = t.name;
    const m = LAYER_RE.exec(t.name);
    if (m) {
      const layer = Number(m[1]);
      if (layer >= numLayers) throw new ExportError(`tensor "${t.name}" belongs to block ${layer}, but the model has ${numLayers} blocks (config.json num_hidden_layers)`);
      seenLayers.add(layer);
      const j = newIndex.get(layer);
      if (j === undefined) {
        droppedBytes += t.byteLength;
        continue;
      }
      name = `model.layers.${j}.${m[2]}`;
    }
    const convert = options.toF16 && (t.dtype === 'F32' || t.dtype === 'BF16');
    out.push({
      source: t.name,
      name,
      sourceDtype: t.dtype,
      dtype: convert ? 'F16' : t.dtype,
      shape: [...t.shape],
      byteLength: convert ? (t.byteLength / size) * 2 : t.byteLength,
    });
  }
  const missing = kept.filter((b) => !seenLayers.has(b));
  if (missing.length) throw new ExportError(`the source has no tensors for kept block(s) ${missing.join(', ')}`);
  out.sort((a, b) => naturalCompare(a.name, b.name));

  const limit = options.maxShardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(limit > 0)) throw new ExportError(`shard limit must be positive, got ${limit}`);
  const groups: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let currentBytes = 0;
  for (const t of out) {
    if (current.length > 0 && currentBytes + t.byteLength > limit) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(t);
    currentBytes += t.byteLength;
  }
  if (current.length > 0) groups.push(current);
  const pad = (i: number) => String(i).padStart(5, '0');
  const shards = groups.map((g, i) => ({
    file: groups.length === 1 ? SINGLE_FILE : `model-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`,
    tensors: g,
    dataBytes: g.reduce((a, t) => a + t.byteLength, 0),
  }));
  return { numHiddenLayers: kept.length, tensors: out, shards, totalSize: out.reduce((a, t) => a + t.byteLength, 0), droppedBytes };
}

/** model.safetensors.index.json for a sharded plan (keys sorted, 2-space indent, like transformers). */
export function indexJson(plan: ExportPlan): string {
  const weightMap: Record<string, string> = {};
  const entries = plan.shards.flatMap((s) => s.tensors.map((t) => [t.name, s.file] as const));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, file] of entries) weightMap[name] = file;
  return `${JSON.stringify({ metadata: { total_size: plan.totalSize }, weight_map: weightMap }, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// config.json: edit values in place so every other byte stays as it was.

/** Per-block lists in some configs (one entry per layer): filtered with the kept blocks. */
export const PER_LAYER_CONFIG_KEYS = ['layer_types', 'no_rope_layers'];
/**
 * Qwen2/Qwen3 window the layers >= max_window_layers (with use_sliding_window): the threshold becomes
 * the number of kept blocks below it, so every kept block keeps its kind of attention.
 */
export const LAYER_THRESHOLD_CONFIG_KEYS = ['max_window_layers'];

/** [start, end) of each top-level value in a JSON object text, by key. Throws on malformed text. */
function topLevelValueSpans(text: string): Map<string, [number, number]> {
  const spans = new Map<string, [number, number]>();
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) throw new ExportError('config.json: unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = () => {
    ws();
    if (text[i] === '"') return void str();
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      do {
        const c = text[i]!;
        if (c === '"') {
          str();
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        i++;
      } while (depth > 0 && i < text.length);
      if (depth !== 0) throw new ExportError('config.json: unbalanced brackets');
      return;
    }
    while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
  };
  ws();
  if (text[i] !== '{') throw new ExportError('config.json is not a JSON object');
  i++;
  ws();
  if (text[i] === '}') return spans;
  for (;;) {
    ws();
    if (text[i] !== '"') throw new ExportError('config.json: expected a key');
    const key = str();
    ws();
    if (text[i] !== ':') throw new ExportError('config.json: expected ":"');
    i++;
    ws();
    const start = i;
    value();
    spans.set(key, [start, i]);
    ws();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') return spans;
    throw new ExportError('config.json: expected "," or "}"');
  }
}

/**
 * config.json of the pruned model: num_hidden_layers = kept.length, per-layer lists filtered,
 * layer thresholds (max_window_layers) recounted over the kept blocks, torch_dtype/dtype = "float16"
 * when converting; every other byte unchanged.
 */
export function prunedConfigText(configText: string, kept: readonly number[], options: { toF16?: boolean } = {}): string {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText) as Record<string, unknown>;
  } catch (e) {
    throw new ExportError(`config.json is not valid JSON: ${(e as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new ExportError('config.json is not a JSON object');
  const L = config.num_hidden_layers;
  if (typeof L !== 'number' || !Number.isInteger(L) || L < 1) throw new ExportError(`config.json: num_hidden_layers must be a positive integer, got ${JSON.stringify(L)}`);
  checkKept(kept, L);
  const edits = new Map<string, string>([['num_hidden_layers', String(kept.length)]]);
  for (const key of PER_LAYER_CONFIG_KEYS) {
    const v = config[key];
    if (Array.isArray(v)) {
      if (v.length !== L) throw new ExportError(`config.json: ${key} has ${v.length} entries for ${L} layers`);
      edits.set(key, JSON.stringify(kept.map((b) => v[b])));
    }
  }
  for (const key of LAYER_THRESHOLD_CONFIG_KEYS) {
    const v = config[key];
    if (typeof v === 'number' && Number.isInteger(v)) edits.set(key, String(kept.filter((b) => b < v).length));
  }
  if (options.toF16) {
    for (const key of ['torch_dtype', 'dtype']) if (typeof config[key] === 'string') edits.set(key, '"float16"');
  }
  const spans = topLevelValueSpans(configText);
  const ordered = [...edits.entries()].map(([k, v]) => [spans.get(k)!, v] as const).sort((a, b) => b[0][0] - a[0][0]);
  let text = configText;
  for (const [[start, end], v] of ordered) text = text.slice(0, start) + v + text.slice(end);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Writing.

export interface ExportProgress {
  /** File being written. */
  file: string;
  /** Output tensor name, when writing tensor data. */
  tensor?: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface ExportOptions extends PlanOptions {
  source: ExportSource;
  sink: CheckpointSink;
  /** Original indices of the blocks to keep (sorted). Taken from `mask` when omitted. */
  kept?: readonly number[];
  /** Written as pruning_mask.json next to the weights; its kept blocks must agree with `kept`. */
  mask?: PruningMask;
  onProgress?: (p: ExportProgress) => void;
  signal?: AbortSignal;
}

export interface ExportResult {
  plan: ExportPlan;
  /** Every file written, in write order. */
  files: { name: string; size: number }[];
  /** F32/BF16 values that became +-inf in F16 (0 unless toF16). */
  overflowed: number;
}

const encoder = new TextEncoder();

/** F32 or BF16 little-endian bytes -> F16 bytes; returns how many finite values overflowed. */
export function convertToF16(dtype: 'F32' | 'BF16', input: Uint8Array, output: Uint8Array): number {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new DataView(output.buffer, output.byteOffset, output.byteLength);
  const size = dtype === 'F32' ? 4 : 2;
  const n = input.byteLength / size;
  let overflowed = 0;
  for (let i = 0; i < n; i++) {
    const v = dtype === 'F32' ? view.getFloat32(i * 4, true) : bf16BitsToF32(view.getUint16(i * 2, true));
    const h = f32ToF16Bits(v);
    if ((h & 0x7fff) === 0x7c00 && Number.isFinite(v)) overflowed++;
    out.setUint16(i * 2, h, true);
  }
  return overflowed;
}

/** Writes the pruned checkpoint. On failure, partial files are aborted and the error rethrown. */
export async function exportPrunedCheckpoint(options: ExportOptions): Promise<ExportResult> {
  const { source, sink, mask, signal } = options;
  const configText = await source.readConfig(signal);
  const kept = options.kept ?? mask?.kept;
  if (!kept) throw new ExportError('nothing says which blocks to keep: pass kept or mask');
  if (mask) {
    if (options.kept && options.kept.join(',') !== mask.kept.join(',')) throw new ExportError('kept and mask.kept differ');
  }
  const newConfig = prunedConfigText(configText, kept, options);
  const numLayers = (JSON.parse(configText) as { num_hidden_layers: number }).num_hidden_layers;
  if (mask && mask.model.num_hidden_layers !== numLayers) {
    throw new ExportError(`the mask is for a model with ${mask.model.num_hidden_layers} blocks, config.json has ${numLayers}`);
  }
  const plan = planPrunedCheckpoint(source.tensors, kept, numLayers, options);
  const maskText = mask ? serializeMask(mask) : undefined;

  // Weights first, config.json last: a folder without config.json is visibly incomplete.
  const smallFiles: [string, Uint8Array][] = [];
  for (const name of [...source.files].sort()) {
    if (!isCopiedFile(name)) continue;
    smallFiles.push([name, await source.readFile(name, signal)]);
  }
  if (plan.shards.length > 1) smallFiles.push([INDEX_FILE, encoder.encode(indexJson(plan))]);
  if (maskText) smallFiles.push([MASK_FILE, encoder.encode(maskText)]);
  smallFiles.push(['config.json', encoder.encode(newConfig)]);

  const prefixes = plan.shards.map((s) => safetensorsPrefix(s.tensors, { format: 'pt' }));
  const bytesTotal = prefixes.reduce((a, p) => a + p.byteLength, 0) + plan.totalSize + smallFiles.reduce((a, [, b]) => a + b.byteLength, 0);
  let bytesDone = 0;
  const files: { name: string; size: number }[] = [];
  let overflowed = 0;

  const writeWhole = async (name: string, bytes: Uint8Array) => {
    const f = await sink.create(name, bytes.byteLength);
    try {
      await f.write(bytes);
      await f.close();
    } catch (e) {
      await f.abort?.().catch(() => undefined);
      throw e;
    }
    bytesDone += bytes.byteLength;
    files.push({ name, size: bytes.byteLength });
    options.onProgress?.({ file: name, bytesDone, bytesTotal });
  };

  for (const [i, shard] of plan.shards.entries()) {
    const prefix = prefixes[i]!;
    const size = prefix.byteLength + shard.dataBytes;
    const f = await sink.create(shard.file, size);
    try {
      await f.write(prefix);
      bytesDone += prefix.byteLength;
      for (const t of shard.tensors) {
        signal?.throwIfAborted();
        overflowed += await writeTensor(source, t, f, signal, (n) => {
          bytesDone += n;
          options.onProgress?.({ file: shard.file, tensor: t.name, bytesDone, bytesTotal });
        });
      }
      await f.close();
    } catch (e) {
      await f.abort?.().catch(() => undefined);
      throw e;
    }
    files.push({ name: shard.file, size });
  }
  for (const [name, bytes] of smallFiles) await writeWhole(name, bytes);
  return { plan, files, overflowed };
}

async function writeTensor(source: ExportSource, t: PlannedTensor, f: SinkFile, signal: AbortSignal | undefined, progress: (n: number) => void): Promise<number> {
  const convert = t.dtype !== t.sourceDtype;
  const inSize = DTYPE_BYTES[t.sourceDtype];
  let written = 0;
  let overflowed = 0;
  let carry = new Uint8Array(0);
  for await (const piece of source.chunks(t.source, signal)) {
    if (!convert) {
      if (written + piece.byteLength > t.byteLength) throw new ExportError(`tensor "${t.source}": the source gave more than its ${t.byteLength} bytes`);
      await f.write(piece);
      written += piece.byteLength;
      progress(piece.byteLength);
      continue;
    }
    let data = piece;
    if (carry.byteLength) {
      data = new Uint8Array(carry.byteLength + piece.byteLength);
      data.set(carry);
      data.set(piece, carry.byteLength);
    }
    const whole = data.byteLength - (data.byteLength % inSize);
    carry = data.slice(whole);
    const out = new Uint8Array((whole / inSize) * 2);
    overflowed += convertToF16(t.sourceDtype as 'F32' | 'BF16', data.subarray(0, whole), out);
    if (written + out.byteLength > t.byteLength) throw new ExportError(`tensor "${t.source}": the source gave more bytes than its shape holds`);
    await f.write(out);
    written += out.byteLength;
    progress(out.byteLength);
  }
  if (written !== t.byteLength || carry.byteLength) {
    throw new ExportError(`tensor "${t.source}": the source gave ${written} of ${t.byteLength} bytes`);
  }
  return overflowed;
}
