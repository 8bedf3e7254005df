/**
 * The few safetensors pieces the export needs: the file prefix writer and a header parser.
 * Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON padded with spaces so the
 * data area starts 8-aligned, then the tensors back to back (offsets relative to the data area).
 *
 * DUPLICATION NOTE: src/io/safetensors.ts (being written alongside) has a validating reader and
 * the same prefix writer (`safetensorsPrefix`). Once it is committed, export should import
 * those and this file should shrink to what io lacks (nothing, probably).
 */

export const DTYPE_SIZE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

export interface HeaderTensor {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
}

/** One entry of a parsed header: offsets relative to the start of the file, half-open. */
export interface ParsedTensor extends HeaderTensor {
  begin: number;
  end: number;
}

export class SafetensorsFormatError extends Error {
  override name = 'SafetensorsFormatError';
}

/**
 * The prefix of a safetensors file (length + JSON header + space padding) for `tensors` written
 * back to back in this order. Metadata comes first, like the reference implementation's.
 */
export function safetensorsPrefix(tensors: readonly HeaderTensor[], metadata: Record<string, string> | null = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new SafetensorsFormatError(`duplicate or reserved tensor name "${t.name}"`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  return out;
}

/** The header length N from the first 8 bytes. */
export function headerLength(first8: Uint8Array): number {
  if (first8.byteLength < 8) throw new SafetensorsFormatError('file shorter than 8 bytes');
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (n < 2 || n > 100_000_000) throw new SafetensorsFormatError(`implausible header length ${n}`);
  return n;
}

/** Parses the JSON header (`json` = the N bytes after the length) into entries with file offsets. */
export function parseHeader(json: Uint8Array): { tensors: ParsedTensor[]; metadata: Record<string, string> | null } {
  const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as Record<string, unknown>;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SafetensorsFormatError('header is not a JSON object');
  const dataStart = 8 + json.byteLength;
  const tensors: ParsedTensor[] = [];
  let metadata: Record<string, string> | null = null;
  for (const [name, v] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const offsets = e.data_offsets as [number, number] | undefined;
    if (typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(offsets) || offsets.length !== 2) {
      throw new SafetensorsFormatError(`tensor "${name}": malformed entry`);
    }
    const byteLength = offsets[1] - offsets[0];
    const size = DTYPE_SIZE[e.dtype];
    const elements = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (size !== undefined && elements * size !== byteLength) {
      throw new SafetensorsFormatError(`tensor "${name}": shape [${(e.shape as number[]).join(', ')}] x ${e.dtype} needs ${elements * size} bytes, offsets span ${byteLength}`);
    }
    tensors.push({ name, dtype: e.dtype, shape: e.shape as number[], byteLength, begin: dataStart + offsets[0], end: dataStart + offsets[1] });
  }
  return { tensors, metadata };
}

/** Parses a whole safetensors file held in memory (tests, small files). */
export function parseSafetensors(bytes: Uint8Array): { tensors: (ParsedTensor & { data: Uint8Array })[]; metadata: Record<string, string> | null; headerBytes: number } {
  const n = headerLength(bytes.subarray(0, 8));
  if (8 + n > bytes.byteLength) throw new SafetensorsFormatError('header runs past the end of the file');
  const { tensors, metadata } = parseHeader(bytes.subarray(8, 8 + n));
  return {
    metadata,
    headerBytes: 8 + n,
    tensors: tensors.map((t) => {
      if (t.end > bytes.byteLength) throw new SafetensorsFormatError(`tensor "${t.name}" runs past the end of the file`);
      return { ...t, data: bytes.subarray(t.begin, t.end) };
    }),
  };
}
