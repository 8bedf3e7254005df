/**
 * Rows of a dataset file in its own columns: Parquet (read with hyparquet; Hub files are
 * Snappy-compressed, which it decodes itself) or JSON Lines. Parquet int64 values arrive as
 * BigInt; the column readers accept them.
 */
import { parquetReadObjects } from 'hyparquet';
import { TaskDataError, type DatasetRow } from './types';

export type DatasetFileKind = 'parquet' | 'jsonl';

/** Parquet files start and end with the magic "PAR1". */
export function fileKind(name: string, bytes: Uint8Array): DatasetFileKind {
  const magic = bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) === 'PAR1';
  if (magic || /\.parquet$/i.test(name)) return 'parquet';
  return 'jsonl';
}

export function parseJsonl(textContent: string, name: string): DatasetRow[] {
  const rows: DatasetRow[] = [];
  textContent.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new TaskDataError(`${name} line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new TaskDataError(`${name} line ${i + 1}: expected a JSON object`);
    rows.push(row as DatasetRow);
  });
  return rows;
}

export async function readParquet(bytes: Uint8Array, name: string, limit?: number): Promise<DatasetRow[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return (await parquetReadObjects({ file, ...(limit !== undefined ? { rowEnd: limit } : {}) })) as DatasetRow[];
  } catch (e) {
    throw new TaskDataError(`${name}: not a readable Parquet file (${(e as Error).message})`);
  }
}

/** The rows of a file (the first `limit` of them when given). */
export async function dataRows(name: string, bytes: Uint8Array, limit?: number): Promise<DatasetRow[]> {
  if (fileKind(name, bytes) === 'parquet') return readParquet(bytes, name, limit);
  const rows = parseJsonl(new TextDecoder().decode(bytes), name);
  return limit !== undefined ? rows.slice(0, limit) : rows;
}
