/**
 * Streams a checkpoint's tensors onto the GPU as their bytes arrive. The host holds one chunk
 * (chunkBytes, default 8 MiB) plus its converted copy at a time, never a whole tensor or shard;
 * Dawn's upload staging is drained every few chunks. Any failure or cancellation destroys every
 * buffer created so far: a load yields a whole model or nothing.
 */
import { createStorageBuffer, writeBuffer } from '../gpu/buffers';
import type { FloatDType, GpuTensor, QuantDType } from '../gpu/tensor';
import { quantizes, weightBytes } from '../quant/formats';
import { inspectCheckpoint, type CheckpointIndex, type PlannedTensor } from './checkpoint';
import type { ModelConfig } from './config';
import { MODE_STORAGE, OVERFLOW_FALLBACK, chooseMode, convertChunk, growth, type ConversionMode } from './convert';
import { CheckpointError, GpuMemoryError, LoadCancelledError, NonFiniteWeightError, TruncatedFileError } from './errors';
import { describeNonFinite, firstNonFinite } from './finite';
import { DTYPE_BYTES } from './safetensors';
import { SAMPLE_BYTES, contentFingerprint } from './fingerprint';
import { isAbort, throwIfAborted, type CheckpointSource } from './source';

export interface LoadProgress {
  /** Source bytes read so far (tensor data, plus any re-read of a tensor that fell back to f32). */
  bytesDone: number;
  bytesTotal: number;
  /** The tensor being uploaded (null before the first and after the last). */
  tensor: string | null;
  /** Bytes per second since the upload began. */
  rate: number;
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  /** Storage of F32 tensors: 'f32' (default) or 'f16' (falls back to f32 for a tensor beyond the f16 range). */
  f32Storage?: FloatDType;
  /** Keep RMSNorm weights in f32 whatever their dtype (default true; they are tiny). */
  normsAsF32?: boolean;
  /** Host chunk size in bytes (multiple of 8; default 8 MiB). */
  chunkBytes?: number;
  /** Refuse checkpoints whose GPU footprint exceeds this (default: max(8 GiB, 8 x maxBufferSize)). */
  memoryBudgetBytes?: number;
  /** A result of inspectCheckpoint(source) to reuse (skips reading the headers again). */
  index?: CheckpointIndex;
  /**
   * Scan every host chunk for NaN/Inf and refuse the checkpoint naming the tensor (default false).
   * For CPU adapters; on a GPU, nonFiniteTensors (src/model/finite-weights.ts) checks the uploaded
   * weights without a second host pass over the bytes.
   */
  scanNonFinite?: boolean;
  /** Quantize the block linears (and optionally embedding and LM head) as each finishes uploading. */
  quantize?: LoadQuantizer;
}

/**
 * The quantization hook (src/kernels/quantize.ts provides `run`): each tensor it applies to is uploaded
 * in float as usual, quantized on the GPU into a new buffer, and its float buffer freed, so the GPU
 * holds at most the quantized model plus one float tensor, and the host only its chunks.
 */
export interface LoadQuantizer {
  dtype: QuantDType;
  /** Also the token embedding and the LM head (default: the block linears only). */
  embeddings?: boolean;
  /** Encodes and submits the quantization of `source` into `target` (weightBytes(dtype, shape) bytes). */
  run(source: GpuTensor, target: GPUBuffer): GpuTensor;
}

/** A tensor stored in f32 although f16 was asked for, and why. */
export interface StorageFallback {
  tensor: string;
  reason: string;
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  /** config.json as parsed JSON. */
  rawConfig: Record<string, unknown>;
  /** Hugging Face tensor names -> GPU tensors. A tied model has no lm_head.weight: use outputWeight(). */
  tensors: Map<string, GpuTensor>;
  /** SHA-256 over config, tensor index and sampled weight bytes (ties masks and caches to these weights). */
  fingerprint: string;
  /** SHA-256 over config and tensor index only (known before download). */
  layoutFingerprint: string;
  bytesOnGpu: number;
  /** Tensors kept in f32 because their values exceed the f16 range. */
  fallbacks: StorageFallback[];
  /** Tensors in the files that were not loaded. */
  extra: string[];
  sourceName: string;
  dispose(): void;
}

/** The LM head weight: lm_head.weight, or the embedding when the config ties them. */
export function outputWeight(ckpt: Pick<LoadedCheckpoint, 'config' | 'tensors'>): GpuTensor {
  return ckpt.tensors.get(ckpt.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!;
}

export interface MemoryEstimate {
  /** Expected bytes on the GPU (BF16 counted as f16; a tensor that overflows f16 later adds more). */
  totalBytes: number;
  largestBytes: number;
  largestTensor: string;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

interface Limits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

function planStorage(t: PlannedTensor, options: LoadOptions): ConversionMode {
  return chooseMode(t.dtype, t.spec.isNorm && (options.normsAsF32 ?? true), options.f32Storage ?? 'f32');
}

function storageBytes(t: PlannedTensor, mode: ConversionMode): number {
  return (t.end - t.begin) * growth(mode);
}

/** Whether the quantizer (if any) converts this tensor. */
function quantized(name: string, shape: readonly number[], q: LoadQuantizer | undefined): q is LoadQuantizer {
  return q !== undefined && quantizes(name, shape, q.embeddings ?? false);
}

/** GPU bytes the checkpoint will take, from the headers alone. */
export function estimateGpuMemory(index: CheckpointIndex, limits: Limits, options: LoadOptions = {}): MemoryEstimate {
  let totalBytes = 0;
  let largestBytes = 0;
  let largestTensor = '';
  for (const t of index.planned) {
    const bytes = storageBytes(t, planStorage(t, options));
    // A quantized tensor holds its float upload only while it is quantized: the largest is still the float one.
    totalBytes += quantized(t.name, t.shape, options.quantize) ? weightBytes(options.quantize.dtype, t.shape) : bytes;
    if (bytes > largestBytes) {
      largestBytes = bytes;
      largestTensor = t.name;
    }
  }
  return {
    totalBytes,
    largestBytes,
    largestTensor,
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
  };
}

/** Throws GpuMemoryError when the estimate cannot work on a device with these limits. */
export function checkGpuMemory(estimate: MemoryEstimate, budgetBytes?: number): void {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (estimate.largestBytes > estimate.maxBufferSize) {
    throw new GpuMemoryError(
      `tensor ${estimate.largestTensor} needs ${mib(estimate.largestBytes)} but this device's maxBufferSize is ${mib(estimate.maxBufferSize)}`,
    );
  }
  // A tensor wider than maxStorageBufferBindingSize is fine: every kernel reads such weights in row windows.
  const budget = budgetBytes ?? Math.max(8 * 2 ** 30, 8 * estimate.maxBufferSize);
  if (estimate.totalBytes > budget) {
    throw new GpuMemoryError(
      `the weights need ${mib(estimate.totalBytes)} of GPU memory, more than the ${mib(budget)} budget for this device ` +
        '(pick a smaller model, or store F32 weights as f16)',
    );
  }
}

/** Marker: a chunk held a value beyond f16; the tensor is redone in f32. */
class F16Overflow extends Error {}

/** One tensor's upload: chunks in, converted, written at increasing offsets. */
class TensorUpload {
  readonly buffer: GPUBuffer;
  readonly storage: FloatDType;
  private fill = 0;
  private written = 0;
  private received = 0;
  readonly sample: Uint8Array;

  constructor(
    private readonly device: GPUDevice,
    readonly tensor: PlannedTensor,
    readonly mode: ConversionMode,
    private readonly chunk: Uint8Array,
    private readonly converted: () => Uint8Array,
    private readonly onWrite: (bytes: number) => void,
    private readonly scanNonFinite: boolean,
  ) {
    this.storage = MODE_STORAGE[mode];
    this.buffer = createStorageBuffer(device, storageBytes(tensor, mode), tensor.name);
    this.sample = new Uint8Array(Math.min(SAMPLE_BYTES, tensor.end - tensor.begin));
  }

  get size(): number {
    return this.tensor.end - this.tensor.begin;
  }

  push(piece: Uint8Array): void {
    if (this.received < this.sample.byteLength) {
      this.sample.set(piece.subarray(0, this.sample.byteLength - this.received), this.received);
    }
    this.received += piece.byteLength;
    let at = 0;
    while (at < piece.byteLength) {
      const n = Math.min(piece.byteLength - at, this.chunk.byteLength - this.fill);
      this.chunk.set(piece.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === this.chunk.byteLength) this.flush();
    }
  }

  private flush(): void {
    if (this.fill === 0) return;
    const input = this.chunk.subarray(0, this.fill);
    if (this.scanNonFinite) {
      const bad = firstNonFinite(this.tensor.dtype, input);
      if (bad >= 0) {
        const element = (this.written / growth(this.mode) + bad * DTYPE_BYTES[this.tensor.dtype]) / DTYPE_BYTES[this.tensor.dtype];
        throw new NonFiniteWeightError([this.tensor.name], `${describeNonFinite(this.tensor.dtype, input, bad)} at element ${element}`);
      }
    }
    let out: Uint8Array = input;
    if (this.mode !== 'copy-f32' && this.mode !== 'copy-f16') {
      const converted = this.converted();
      const bytes = convertChunk(this.mode, input, converted);
      if (bytes < 0) throw new F16Overflow();
      out = converted.subarray(0, bytes);
    }
    writeBuffer(this.device, this.buffer, out, this.written);
    this.written += out.byteLength;
    this.onWrite(out.byteLength);
    this.fill = 0;
  }

  finish(): GpuTensor {
    this.flush();
    if (this.received !== this.size) throw new TruncatedFileError(this.tensor.file, `tensor ${this.tensor.name} ended early`);
    return { name: this.tensor.name, buffer: this.buffer, dtype: this.storage, shape: this.tensor.shape };
  }
}

/** Source spans that are read in one stream: tensors of one file separated by small gaps. */
function groupSpans(planned: PlannedTensor[], maxGap = 1 << 20): PlannedTensor[][] {
  const groups: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  for (const t of planned) {
    const prev = current[current.length - 1];
    if (prev && (prev.file !== t.file || t.begin - prev.end > maxGap || t.begin < prev.end)) {
      groups.push(current);
      current = [];
    }
    current.push(t);
  }
  if (current.length) groups.push(current);
  return groups;
}

/**
 * Loads the checkpoint in `source` onto `device`. Reads config and headers, validates, checks the
 * GPU memory estimate, then streams every needed tensor into its own storage buffer.
 */
export async function loadCheckpoint(device: GPUDevice, source: CheckpointSource, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const { signal } = options;
  const chunkBytes = options.chunkBytes ?? 8 << 20;
  if (chunkBytes < 8 || chunkBytes % 8 !== 0) throw new CheckpointError(`chunkBytes must be a positive multiple of 8`, 'invalid-option');
  throwIfAborted(signal);
  const index = options.index ?? (await inspectCheckpoint(source, signal));
  checkGpuMemory(estimateGpuMemory(index, device.limits, options), options.memoryBudgetBytes);

  const created: GPUBuffer[] = [];
  const tensors = new Map<string, GpuTensor>();
  const fallbacks: StorageFallback[] = [];
  const samples = new Map<string, Uint8Array>();
  const chunk = new Uint8Array(chunkBytes);
  let convertedBuffer: Uint8Array | undefined; // only when some tensor needs a conversion
  const converted = () => (convertedBuffer ??= new Uint8Array(chunkBytes * 2));
  const groups = groupSpans(index.planned);
  let bytesTotal = groups.reduce((a, g) => a + g[g.length - 1]!.end - g[0]!.begin, 0);
  let bytesDone = 0;
  let pendingWrites = 0;
  const started = performance.now();
  let lastReport = -Infinity; // the first piece always reports
  let current: string | null = null;
  let fingerprint = '';

  const report = (force = false) => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    const seconds = (now - started) / 1000;
    options.onProgress({ bytesDone, bytesTotal, tensor: current, rate: seconds > 0 ? bytesDone / seconds : 0 });
  };
  const onWrite = (bytes: number) => {
    pendingWrites += bytes;
  };
  /** Lets Dawn retire upload staging so queued writes never pile up to a whole model. */
  const drain = async () => {
    if (pendingWrites >= 4 * chunkBytes) {
      pendingWrites = 0;
      await device.queue.onSubmittedWorkDone();
    }
  };
  const begin = async (t: PlannedTensor, mode: ConversionMode): Promise<TensorUpload> => {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let upload: TensorUpload | undefined;
    try {
      upload = new TensorUpload(device, t, mode, chunk, converted, onWrite, options.scanNonFinite ?? false);
      created.push(upload.buffer);
    } finally {
      const [validation, oom] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
      const error = oom ?? validation;
      if (error) {
        throw new GpuMemoryError(`creating the ${storageBytes(t, mode)}-byte buffer for ${t.name} failed: ${error.message}`);
      }
    }
    current = t.name;
    return upload;
  };
  /** The float upload quantized into a new buffer, which then replaces it. */
  const quantizeUploaded = async (source: GpuTensor, q: LoadQuantizer): Promise<GpuTensor> => {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let result: GpuTensor | undefined;
    try {
      const target = createStorageBuffer(device, weightBytes(q.dtype, source.shape), `${source.name} (${q.dtype})`);
      created.push(target);
      result = q.run(source, target);
    } finally {
      const [validation, oom] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
      const error = oom ?? validation;
      if (error) throw new GpuMemoryError(`quantizing ${source.name} to ${q.dtype} failed: ${error.message}`);
    }
    source.buffer.destroy();
    return result;
  };
  const complete = async (upload: TensorUpload) => {
    const tensor = upload.finish();
    const q = options.quantize;
    tensors.set(upload.tensor.name, quantized(tensor.name, tensor.shape, q) ? await quantizeUploaded(tensor, q) : tensor);
    samples.set(upload.tensor.name, upload.sample);
  };
  /** Re-reads one tensor into f32 after its values turned out to exceed f16. */
  const redoInF32 = async (upload: TensorUpload) => {
    const t = upload.tensor;
    upload.buffer.destroy();
    const fallback = OVERFLOW_FALLBACK[upload.mode]!;
    fallbacks.push({ tensor: t.name, reason: `${t.dtype} values exceed the f16 range (|x| > 65504): stored as f32` });
    const redo = await begin(t, fallback);
    bytesTotal += t.end - t.begin;
    for await (const piece of source.stream(t.file, t.begin, t.end, signal)) {
      throwIfAborted(signal);
      redo.push(piece);
      bytesDone += piece.byteLength;
      await drain();
      report();
    }
    await complete(redo);
  };

  try {
    for (const group of groups) {
      const file = group[0]!.file;
      let pos = group[0]!.begin;
      const end = group[group.length - 1]!.end;
      let i = 0;
      let upload: TensorUpload | null = null;
      let redone = false; // the current tensor was re-read in f32: discard the rest of its bytes here
      for await (const piece of source.stream(file, pos, end, signal)) {
        throwIfAborted(signal);
        let at = 0;
        while (at < piece.byteLength && i < group.length) {
          const t = group[i]!;
          if (pos < t.begin) {
            const gap = Math.min(piece.byteLength - at, t.begin - pos);
            at += gap;
            pos += gap;
            continue;
          }
          const n = Math.min(piece.byteLength - at, t.end - pos);
          if (!redone) {
            const active: TensorUpload = (upload ??= await begin(t, planStorage(t, options)));
            try {
              active.push(piece.subarray(at, at + n));
              if (pos + n === t.end) {
                await complete(active);
                upload = null;
              }
            } catch (e) {
              if (!(e instanceof F16Overflow)) throw e;
              upload = null;
              redone = true;
              await redoInF32(active);
            }
          }
          at += n;
          pos += n;
          if (pos === t.end) {
            redone = false;
            i++;
          }
        }
        bytesDone += piece.byteLength;
        await drain();
        report();
      }
      if (i < group.length) throw new TruncatedFileError(file, `data ended at byte ${pos}, before ${end}`);
    }
    current = null;
    await device.queue.onSubmittedWorkDone();
    throwIfAborted(signal);
    fingerprint = await contentFingerprint(index.layoutFingerprint, samples);
    report(true);
  } catch (e) {
    for (const buffer of created) buffer.destroy();
    if (isAbort(e, signal)) throw new LoadCancelledError();
    throw e;
  }

  const bytesOnGpu = [...tensors.values()].reduce((a, t) => a + t.buffer.size, 0);
  let disposed = false;
  return {
    config: index.config,
    rawConfig: index.rawConfig,
    tensors,
    fingerprint,
    layoutFingerprint: index.layoutFingerprint,
    bytesOnGpu,
    fallbacks,
    extra: index.extra,
    sourceName: source.name,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of tensors.values()) t.buffer.destroy();
      tensors.clear();
    },
  };
}
