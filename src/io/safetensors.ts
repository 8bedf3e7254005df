/**
 * safetensors header reading with full validation. Layout: 8-byte little-endian header length N,
 * N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}},
 * then the data area; offsets are relative to the data area.
 */
import {
  ByteSpanError,
  DataLayoutError,
  HeaderJsonError,
  HeaderLengthError,
  OverlappingSpansError,
  TensorEntryError,
  TruncatedFileError,
  UnsupportedDTypeError,
} from './errors';
import type { CheckpointSource } from './source';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };

/** Headers larger than this are refused (the reference implementation uses the same cap). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  file: string;
  /** Absolute byte offsets in `file` (data area offset already added), half-open. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** N, the JSON header's byte length. */
  headerLength: number;
  /** 8 + N: where the data area starts. */
  dataOffset: number;
  tensors: TensorEntry[];
  metadata: Record<string, string> | null;
}

/** Validates the first 8 bytes against the file size and returns the header length N. */
export function parseHeaderLength(file: string, fileSize: number, first8: Uint8Array): number {
  if (fileSize < 8 || first8.byteLength < 8) {
    throw new TruncatedFileError(file, `${fileSize} bytes, shorter than the 8-byte header length field`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi >= 2 ** 21 || n > fileSize - 8) {
    throw new HeaderLengthError(file, `header length ${n} runs past the end of the ${fileSize}-byte file`);
  }
  if (n > MAX_HEADER_BYTES) throw new HeaderLengthError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) throw new HeaderLengthError(file, `header length ${n} is too small for a JSON object`);
  return n;
}

/** Parses and validates the JSON header (`json` = the N header bytes) of a file of `fileSize` bytes. */
export function parseSafetensorsHeader(file: string, fileSize: number, headerLength: number, json: Uint8Array): SafetensorsHeader {
  if (json.byteLength < headerLength) {
    throw new TruncatedFileError(file, `the header needs ${headerLength} bytes, only ${json.byteLength} were read`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json.subarray(0, headerLength));
  } catch {
    throw new HeaderJsonError(file, 'not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new HeaderJsonError(file, (e as Error).message);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HeaderJsonError(file, `the header is ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }
  const dataOffset = 8 + headerLength;
  const dataLength = fileSize - dataOffset;
  const tensors: TensorEntry[] = [];
  let metadata: Record<string, string> | null = null;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value !== null) metadata = parseMetadata(file, value);
      continue;
    }
    tensors.push(parseEntry(file, name, value, dataOffset));
  }
  // Spans inside the data area: a span past the end means the file was cut short.
  let maxEnd = 0;
  let last = '';
  for (const t of tensors) {
    if (t.end - dataOffset > maxEnd) {
      maxEnd = t.end - dataOffset;
      last = t.name;
    }
  }
  if (maxEnd > dataLength) {
    throw new TruncatedFileError(
      file,
      `tensor "${last}" ends at byte ${maxEnd + dataOffset} but the file has ${fileSize} bytes (an interrupted download?)`,
    );
  }
  // No two tensors may share bytes, and (as the reference library demands) they fill the data
  // area back to back: no gap between tensors, nothing after the last.
  const sorted = tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataOffset;
  for (const [i, t] of sorted.entries()) {
    if (t.begin < at) throw new OverlappingSpansError(file, sorted[i - 1]!.name, t.name);
    if (t.begin > at) {
      const after = i === 0 ? 'the start of the data area' : `tensor "${sorted[i - 1]!.name}"`;
      throw new DataLayoutError(file, `${t.begin - at} unused bytes between ${after} and tensor "${t.name}"`);
    }
    at = t.end;
  }
  if (at < fileSize) throw new DataLayoutError(file, `${fileSize - at} bytes after the last tensor's data`);
  return { file, fileSize, headerLength, dataOffset, tensors, metadata };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new TensorEntryError(file, '__metadata__', 'must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new TensorEntryError(file, '__metadata__', `value of "${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(file: string, name: string, value: unknown, dataOffset: number): TensorEntry {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TensorEntryError(file, name, 'entry must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.dtype !== 'string') throw new TensorEntryError(file, name, 'dtype must be a string');
  if (!Array.isArray(v.shape) || v.shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new TensorEntryError(file, name, `shape must be a list of non-negative integers, got ${short(v.shape)}`);
  }
  const offsets = v.data_offsets;
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    offsets.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new TensorEntryError(file, name, `data_offsets must be [begin, end] with 0 <= begin <= end, got ${short(offsets)}`);
  }
  if (!(v.dtype in DTYPE_BYTES)) throw new UnsupportedDTypeError(file, name, v.dtype);
  const dtype = v.dtype as SafetensorsDType;
  const shape = v.shape as number[];
  const elements = shape.reduce((a, b) => a * b, 1);
  const expected = elements * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(expected)) throw new TensorEntryError(file, name, `shape [${shape.join(', ')}] is too large`);
  const [begin, end] = offsets as [number, number];
  if (expected !== end - begin) throw new ByteSpanError(file, name, expected, end - begin);
  return { name, dtype, shape, file, begin: dataOffset + begin, end: dataOffset + end };
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Reads and validates the header of `file` from `source` (two small range reads). */
export async function readSafetensorsHeader(source: CheckpointSource, file: string, signal?: AbortSignal): Promise<SafetensorsHeader> {
  const fileSize = await source.size(file, signal);
  const first8 = fileSize >= 8 ? await source.readRange(file, 0, 8, signal) : new Uint8Array(0);
  const n = parseHeaderLength(file, fileSize, first8);
  const json = await source.readRange(file, 8, 8 + n, signal);
  return parseSafetensorsHeader(file, fileSize, n, json);
}

/**
 * The first part of a safetensors file (8-byte length + JSON, padded so the data area starts
 * 8-aligned) for tensors written back to back in the given order.
 */
export function safetensorsPrefix(
  tensors: { name: string; dtype: SafetensorsDType; shape: number[]; byteLength: number }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.set(json, 8);
  return out;
}

/** Builds a whole safetensors file in memory (small files: tests and tools). */
export function encodeSafetensors(
  tensors: { name: string; dtype: SafetensorsDType; shape: number[]; data: Uint8Array }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const prefix = safetensorsPrefix(tensors.map((t) => ({ ...t, byteLength: t.data.byteLength })), metadata);
  const out = new Uint8Array(prefix.byteLength + tensors.reduce((a, t) => a + t.data.byteLength, 0));
  out.set(prefix);
  let at = prefix.byteLength;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}
