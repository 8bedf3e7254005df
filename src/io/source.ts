/**
 * Where checkpoint files come from. Every source (the app's embedded folder, the Hugging Face Hub,
 * files the user picked or dropped, a Node folder) answers the same few questions, so the reader
 * and the GPU loader have one code path. Byte ranges are half-open [start, end).
 */
import { CheckpointError, LoadCancelledError, TruncatedFileError } from './errors';

export interface CheckpointSource {
  /** What the UI shows, e.g. "hub:meta-llama/Llama-3.2-1B@main". Never contains a token. */
  readonly name: string;
  /** Stable key for caches (same model, same key); never contains a token. */
  readonly cacheKey: string;
  /** File names relative to the checkpoint root, where the source can enumerate them. */
  list?(signal?: AbortSignal): Promise<string[]>;
  /** Size of `file` in bytes; throws FileMissingError when absent. */
  size(file: string, signal?: AbortSignal): Promise<number>;
  /** Whether `file` exists (false on a missing file; other failures throw). */
  exists(file: string, signal?: AbortSignal): Promise<boolean>;
  readText(file: string, signal?: AbortSignal): Promise<string>;
  /** The bytes [start, end) of `file`, in one array. For headers and small reads. */
  readRange(file: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * The bytes [start, end) of `file` as a sequence of pieces, read as they arrive (bounded memory
   * for large spans). Pieces are fresh arrays the consumer may keep.
   */
  stream(file: string, start: number, end: number, signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

/** Collects a stream into one array (for small spans only). */
export async function collect(pieces: AsyncIterable<Uint8Array>, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  for await (const piece of pieces) {
    out.set(piece.subarray(0, Math.max(0, length - at)), at);
    at += piece.byteLength;
  }
  return at >= length ? out : out.subarray(0, at);
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LoadCancelledError();
}

export function isAbort(e: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || e instanceof LoadCancelledError || (e instanceof Error && e.name === 'AbortError');
}

/** Rejects file names that would escape the checkpoint root (a hostile index.json). */
export function checkFileName(file: string): string {
  if (!file || file.startsWith('/') || file.includes('\\') || file.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new CheckpointError(`invalid file name in checkpoint: ${JSON.stringify(file)}`, 'invalid-file-name');
  }
  return file;
}

/** Default piece size for local reads: large enough to be fast, small enough to bound memory. */
export const PIECE_BYTES = 4 << 20;

/** Reads [start, end) through `readAt(position, length)` in PIECE_BYTES pieces. */
export async function* piecewise(
  file: string,
  start: number,
  end: number,
  readAt: (position: number, length: number) => Promise<Uint8Array>,
  signal?: AbortSignal,
  pieceBytes = PIECE_BYTES,
): AsyncGenerator<Uint8Array> {
  for (let at = start; at < end; ) {
    throwIfAborted(signal);
    const piece = await readAt(at, Math.min(pieceBytes, end - at));
    if (piece.byteLength === 0) throw new TruncatedFileError(file, `the file ends at byte ${at}, before byte ${end}`);
    at += piece.byteLength;
    yield piece;
  }
}
