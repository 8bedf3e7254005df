/**
 * Where a task's rows come from: the dataset's Parquet file on the Hugging Face Hub (through the
 * lab's Hub client: same host setting, Cache Storage and retries as checkpoints), a file the user
 * uploaded (Parquet or JSON Lines in the dataset's own columns), or a file the app ships.
 */
import { cachedSource } from '../io/cache';
import { hubSource } from '../io/http-source';
import { requireColumns } from './columns';
import { dataRows } from './dataset-file';
import { taskFormat } from './registry';
import type { TaskFormat } from './seed-tasks';
import { TaskDataError, type TaskItem } from './types';

export type TaskDataSpec =
  /** The format's default Hub file unless overridden. */
  | { kind: 'hub'; dataset?: string; revision?: string; file?: string; host?: string; token?: string }
  | { kind: 'upload'; name: string; bytes: Uint8Array }
  | { kind: 'embedded' };

export interface TaskSpec {
  task: string;
  data: TaskDataSpec;
  /** The first `limit` items only (quick looks). */
  limit?: number;
}

export interface TaskDataDeps {
  /** Bytes of a file shipped under public/data/. */
  embeddedFile(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  fetch?: typeof fetch;
  /** Cache Hub downloads (browser Cache Storage; a no-op in Node). */
  cache?: boolean;
  signal?: AbortSignal;
  onBytes?: (done: number, total: number) => void;
}

async function fileBytes(format: TaskFormat, data: TaskDataSpec, d: TaskDataDeps): Promise<{ name: string; bytes: Uint8Array }> {
  switch (data.kind) {
    case 'upload':
      return { name: data.name, bytes: data.bytes };
    case 'embedded': {
      if (!format.embedded) throw new TaskDataError(`${format.id} ships no data: give a Hub dataset or a file`);
      return { name: format.embedded, bytes: await d.embeddedFile(format.embedded, d.signal) };
    }
    case 'hub': {
      const dataset = data.dataset ?? format.hub?.dataset;
      const file = data.file ?? format.hub?.file;
      if (!dataset || !file) throw new TaskDataError(`${format.id} has no default Hub file: give a dataset and a file`);
      const revision = data.revision ?? (data.dataset ? 'main' : format.hub?.revision ?? 'main');
      const inner = hubSource({ modelId: dataset, revision, host: data.host, token: data.token, repoType: 'dataset', fetch: d.fetch });
      const source = d.cache === false ? inner : cachedSource(inner);
      const size = await source.size(file, d.signal);
      const bytes = new Uint8Array(size);
      let done = 0;
      for await (const piece of source.stream(file, 0, size, d.signal)) {
        bytes.set(piece, done);
        done += piece.length;
        d.onBytes?.(done, size);
      }
      return { name: `${source.name}/${file}`, bytes };
    }
  }
}

/** A task's items, each row checked (errors name the row); `limit` keeps the first ones. */
export async function loadTaskItems(spec: TaskSpec, d: TaskDataDeps): Promise<{ format: TaskFormat; items: TaskItem[]; source: string }> {
  const format = taskFormat(spec.task);
  if (spec.limit !== undefined && (!Number.isInteger(spec.limit) || spec.limit < 1)) throw new TaskDataError(`limit must be a positive integer, got ${spec.limit}`);
  const { name, bytes } = await fileBytes(format, spec.data, d);
  const rows = await dataRows(name, bytes, spec.limit);
  if (rows.length === 0) throw new TaskDataError(`${name}: no rows`);
  const items = rows.map((row, i) => {
    const where = `${format.id} row ${i} of ${name}`;
    requireColumns(row, format.columns, where);
    return format.toItem(row, where);
  });
  return { format, items, source: name };
}
