/**
 * Errors raised while reading a checkpoint. Every problem has its own class (and a stable `code`),
 * so the UI can say what is wrong and what to do, and tests can tell one failure from another.
 * Messages name the file, the tensor or the config field at fault; they never contain a token.
 */
export class CheckpointError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = new.target.name;
  }
}

// ---- config.json ----

/** A config field is missing or has the wrong type/value. */
export class InvalidConfigError extends CheckpointError {
  constructor(readonly field: string, detail: string) {
    super(`config.json: ${field} ${detail}`, 'invalid-config');
  }
}

/** The config describes something this engine does not run (architecture, bias, rope type, ...). */
export class UnsupportedConfigError extends CheckpointError {
  constructor(readonly field: string, readonly value: unknown, supported: string) {
    super(`config.json: ${field} = ${JSON.stringify(value)} is not supported; supported: ${supported}`, 'unsupported-config');
  }
}

// ---- safetensors files ----

/** The file ends before its data does (an interrupted download or a cut copy). */
export class TruncatedFileError extends CheckpointError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: truncated file: ${detail}`, 'truncated-file');
  }
}

/** The 8-byte header length points past the end of the file (or is absurdly large). */
export class HeaderLengthError extends CheckpointError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: invalid safetensors header length: ${detail}`, 'header-length');
  }
}

/** The header is not valid UTF-8 JSON, or not a JSON object. */
export class HeaderJsonError extends CheckpointError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: safetensors header is not a valid JSON object: ${detail}`, 'header-json');
  }
}

/** A tensor entry lacks dtype/shape/data_offsets or has malformed values. */
export class TensorEntryError extends CheckpointError {
  constructor(readonly file: string, readonly tensor: string, detail: string) {
    super(`${file}: tensor "${tensor}": ${detail}`, 'tensor-entry');
  }
}

/** A tensor's dtype is not F32, F16 or BF16. */
export class UnsupportedDTypeError extends CheckpointError {
  constructor(readonly file: string, readonly tensor: string, readonly dtype: string) {
    const quantized = /^(I|U)\d+$|^F8/.test(dtype)
      ? ' (integer/8-bit dtypes mean a quantized checkpoint; load the unquantized F16/BF16/F32 weights)'
      : '';
    super(`${file}: tensor "${tensor}" has dtype ${dtype}; supported: F32, F16, BF16${quantized}`, 'unsupported-dtype');
  }
}

/** shape x dtype size differs from the byte span the header gives. */
export class ByteSpanError extends CheckpointError {
  constructor(readonly file: string, readonly tensor: string, expected: number, actual: number) {
    super(
      `${file}: tensor "${tensor}": shape and dtype need ${expected} bytes but data_offsets span ${actual} bytes`,
      'byte-span',
    );
  }
}

/** Two tensors claim the same bytes. */
export class OverlappingSpansError extends CheckpointError {
  constructor(readonly file: string, readonly first: string, readonly second: string) {
    super(`${file}: tensors "${first}" and "${second}" have overlapping data_offsets`, 'overlapping-spans');
  }
}

/**
 * The data area is not tensors packed back to back from byte 0 to the end of the file (a gap
 * between two tensors, or bytes after the last): the reference library refuses such files too.
 */
export class DataLayoutError extends CheckpointError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: invalid safetensors data layout: ${detail}`, 'data-layout');
  }
}

/** The files hold blocks the config does not count (num_hidden_layers too small: they would be dropped silently). */
export class ExtraBlocksError extends CheckpointError {
  constructor(readonly numLayers: number, readonly blocks: number[]) {
    const shown = blocks.slice(0, 5).join(', ') + (blocks.length > 5 ? `, ... (${blocks.length} in all)` : '');
    super(
      `the checkpoint has tensors of block(s) ${shown} but config.json says num_hidden_layers = ${numLayers}: ` +
        'fix num_hidden_layers, or remove those tensors',
      'extra-blocks',
    );
  }
}

/** A tensor the config needs is absent from the checkpoint. */
export class MissingTensorError extends CheckpointError {
  constructor(readonly tensors: string[]) {
    const shown = tensors.slice(0, 5).join(', ') + (tensors.length > 5 ? `, ... (${tensors.length} in all)` : '');
    super(`checkpoint is missing tensors the config needs: ${shown}`, 'missing-tensor');
  }
}

/** A tensor has a shape other than the one the config implies. */
export class TensorShapeError extends CheckpointError {
  constructor(readonly tensor: string, readonly expected: number[], readonly actual: number[]) {
    super(`tensor "${tensor}" has shape [${actual.join(', ')}], the config implies [${expected.join(', ')}]`, 'tensor-shape');
  }
}

/** model.safetensors.index.json is malformed or disagrees with its shards. */
export class ShardIndexError extends CheckpointError {
  constructor(detail: string) {
    super(`model.safetensors.index.json: ${detail}`, 'shard-index');
  }
}

/** Only PyTorch pickle weights (.bin/.pt) are present. */
export class PickleCheckpointError extends CheckpointError {
  constructor(readonly source: string, readonly files: string[]) {
    super(
      `${source}: pickle checkpoints are not supported (found ${files.join(', ')}), convert to safetensors ` +
        `(e.g. in Python: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True), ` +
        `or the Hub's "safetensors/convert" Space)`,
      'pickle-checkpoint',
    );
  }
}

/** No weights at all (neither safetensors nor pickle). */
export class NoWeightsError extends CheckpointError {
  constructor(readonly source: string) {
    super(`${source}: no model.safetensors or model.safetensors.index.json found`, 'no-weights');
  }
}

// ---- sources ----

/** A file the loader needs is not in the source (HTTP 404, missing local file). */
export class FileMissingError extends CheckpointError {
  constructor(readonly source: string, readonly file: string) {
    super(`${source}: file ${file} not found`, 'file-missing');
  }
}

/** A path that must be a regular file is a directory, FIFO, socket or device (reading it could block forever). */
export class NotAFileError extends CheckpointError {
  constructor(readonly path: string, what: string) {
    super(`${path} is ${what}, not a regular file`, 'not-a-file');
  }
}

/** The Hub refused access: gated or private repository, missing or insufficient token. */
export class AccessDeniedError extends CheckpointError {
  constructor(readonly source: string, readonly status: number, detail: string) {
    super(`${source}: access denied (HTTP ${status}): ${detail}`, 'access-denied');
  }
}

/** A network or server failure that retries did not overcome. */
export class NetworkError extends CheckpointError {
  constructor(readonly source: string, readonly file: string, detail: string) {
    super(`${source}: downloading ${file} failed: ${detail}`, 'network');
  }
}

// ---- loading ----

/** The checkpoint cannot fit the device (a tensor above a buffer limit, or an impossible total). */
export class GpuMemoryError extends CheckpointError {
  constructor(detail: string) {
    super(`not enough GPU memory: ${detail}`, 'gpu-memory');
  }
}

/** Weights hold NaN or Inf: every result computed from them would be NaN. */
export class NonFiniteWeightError extends CheckpointError {
  constructor(readonly tensors: string[], detail?: string) {
    const shown = tensors.slice(0, 5).join(', ') + (tensors.length > 5 ? `, ... (${tensors.length} in all)` : '');
    super(
      detail
        ? `the checkpoint's weights contain NaN or Inf values: ${shown} has ${detail}`
        : `the checkpoint's weights contain NaN or Inf values (or magnitudes whose sum overflows f32) in: ${shown}`,
      'non-finite-weights',
    );
  }
}

/** The load was cancelled through its AbortSignal. */
export class LoadCancelledError extends CheckpointError {
  constructor() {
    super('loading was cancelled', 'cancelled');
  }
}
