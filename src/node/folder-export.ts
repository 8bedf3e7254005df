/**
 * Node side of the export (tests, CLI): a folder sink. Read a folder with
 * NodeFolderSource (./folder-source.ts) + inspectCheckpoint + exportSourceFromIndex (src/export/source.ts).
 * Node-only: the app never imports this file.
 */
import { rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { inspectCheckpoint } from '../io/checkpoint';
import { NodeFolderSource } from './folder-source';
import { ExportError, type CheckpointSink, type ExportSource, type SinkFile } from '../export/checkpoint';
import { exportSourceFromIndex } from '../export/source';

/** An ExportSource over a Hugging Face checkpoint folder on disk (validated by src/io). */
export async function nodeFolderExportSource(folder: string): Promise<ExportSource> {
  return exportSourceFromIndex(await inspectCheckpoint(new NodeFolderSource(folder)));
}

function plainName(name: string): string {
  if (!name || name.includes('/') || name.includes('\\') || name === '.' || name === '..') throw new ExportError(`invalid file name ${JSON.stringify(name)}`);
  return name;
}

/**
 * Writes files into `folder` (created if needed). Refuses a folder that already holds files
 * unless `overwrite`. A failed file is deleted.
 */
export async function nodeFolderSink(folder: string, options: { overwrite?: boolean } = {}): Promise<CheckpointSink> {
  await mkdir(folder, { recursive: true });
  const existing = await readdir(folder);
  if (existing.length > 0 && !options.overwrite) throw new ExportError(`output folder is not empty (${existing.length} entries); choose an empty folder`);
  return {
    async create(name: string, size: number): Promise<SinkFile> {
      const path = join(folder, plainName(name));
      const handle: FileHandle = await open(path, 'w');
      let at = 0;
      return {
        async write(chunk) {
          let off = 0;
          while (off < chunk.byteLength) {
            const { bytesWritten } = await handle.write(chunk, off, chunk.byteLength - off, at + off);
            off += bytesWritten;
          }
          at += chunk.byteLength;
        },
        async close() {
          await handle.close();
          if (at !== size) throw new ExportError(`${name}: wrote ${at} bytes, expected ${size}`);
        },
        async abort() {
          await handle.close().catch(() => undefined);
          await rm(path, { force: true });
        },
      };
    },
  };
}

/** Sizes of the files in a folder (for tests and the CLI's summary). */
export async function folderListing(folder: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of (await readdir(folder)).sort()) out[name] = (await stat(join(folder, name))).size;
  return out;
}

/** An output folder that cannot be used: empty name, an existing file, or a folder with entries (bad input). */
export class OutputFolderError extends ExportError {}

/** Throws OutputFolderError unless `target` is absent or an empty folder. */
export async function checkOutputFolder(target: string): Promise<void> {
  if (!target.trim()) throw new OutputFolderError('the output folder name is empty');
  let entries: string[];
  try {
    const s = await stat(target);
    if (!s.isDirectory()) throw new OutputFolderError(`output ${target} exists and is not a folder`);
    entries = await readdir(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (entries.length > 0) throw new OutputFolderError(`output folder ${target} is not empty (${entries.length} entries); choose an empty or new folder`);
}

/** Throws OutputFolderError unless `target` can be written as a file: not a folder, in a folder that exists. */
export async function checkOutputFile(target: string): Promise<void> {
  if (!target.trim()) throw new OutputFolderError('the output file name is empty');
  const parent = await stat(dirname(resolve(target))).catch(() => undefined);
  if (!parent?.isDirectory()) throw new OutputFolderError(`output ${target}: folder ${dirname(resolve(target))} does not exist`);
  const s = await stat(target).catch(() => undefined);
  if (s?.isDirectory()) throw new OutputFolderError(`output ${target} is a folder; give a file name such as ${join(target, 'mask.json')}`);
}

/**
 * Runs `write` against a sink on a hidden folder beside `target`, renamed to `target` only once
 * complete: an export cut short (disk full, an error, Ctrl-C) leaves no partial folder that a
 * retry would refuse as non-empty.
 */
export async function stagedFolderExport<T>(target: string, write: (sink: CheckpointSink) => Promise<T>): Promise<T> {
  await checkOutputFolder(target);
  const full = resolve(target);
  const staging = join(dirname(full), `.${basename(full)}.partial-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  // On SIGINT/SIGTERM: remove the staging folder, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(staging, { recursive: true, force: true });
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const result = await write(await nodeFolderSink(staging));
    await checkOutputFolder(target); // nobody filled it meanwhile
    await rmdir(full).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(staging, full);
    return result;
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
