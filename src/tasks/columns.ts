/** Typed reads of a dataset row's columns; every failure names the row and the column. */
import { TaskDataError, type DatasetRow } from './types';

function missing(row: DatasetRow, col: string, where: string, want: string): TaskDataError {
  const has = col in row ? `got ${JSON.stringify(row[col], (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}` : 'missing';
  return new TaskDataError(`${where}: column "${col}" must be ${want} (${has}); columns: ${Object.keys(row).join(', ') || 'none'}`);
}

export function text(row: DatasetRow, col: string, where: string): string {
  const v = row[col];
  if (typeof v !== 'string') throw missing(row, col, where, 'a string');
  return v;
}

/** An integer (Parquet int64 arrives as a BigInt; some datasets store labels as digit strings). */
export function integer(row: DatasetRow, col: string, where: string): number {
  const v = row[col];
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : typeof v === 'boolean' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw missing(row, col, where, 'an integer');
  return n;
}

export function textList(row: DatasetRow, col: string, where: string, v: unknown = row[col]): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw missing(row, col, where, 'a list of strings');
  return v as string[];
}

/** A struct column (ARC and OpenBookQA `choices`: {text: [...], label: [...]}). */
export function struct(row: DatasetRow, col: string, where: string): DatasetRow {
  const v = row[col];
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw missing(row, col, where, 'a struct');
  return v as DatasetRow;
}

/** Checks that an item has choices and a gold index among them. */
export function checkChoices(count: number, gold: number, where: string): void {
  if (count === 0) throw new TaskDataError(`${where}: the choice list is empty`);
  if (!Number.isInteger(gold) || gold < 0 || gold >= count) throw new TaskDataError(`${where}: gold index ${gold} is out of range for ${count} choices`);
}

/** Every column a format needs, checked before any is read, so one message lists all that are missing. */
export function requireColumns(row: DatasetRow, columns: readonly string[], where: string): void {
  const missingCols = columns.filter((c) => !(c in row));
  if (missingCols.length > 0) {
    throw new TaskDataError(`${where}: missing column${missingCols.length > 1 ? 's' : ''} ${missingCols.map((c) => `"${c}"`).join(', ')}; the row has ${Object.keys(row).join(', ') || 'no columns'}`);
  }
}
