/**
 * Node side of the export (tests, CLI): a folder sink. Read a folder with
 * NodeFolderSource (./folder-source.ts) + inspectCheckpoint + exportSourceFromIndex (src/export/source.ts).
 * Node-only: the app never imports this file.
 */
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
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
