/**
 * Node side of the export (tests, CLI): a folder sink, and a minimal folder source.
 * Node-only: the app never imports this file.
 *
 * DUPLICATION NOTE: `nodeFolderExportSource` reads safetensors headers and the shard index itself.
 * src/io (NodeFolderSource + inspectCheckpoint, being written alongside) does the same with full
 * validation; once committed, build the ExportSource from its CheckpointIndex instead
 * (see exportSourceFromIndex in the report) and drop this reader.
 */
import { mkdir, open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportError, INDEX_FILE, SINGLE_FILE, type CheckpointSink, type ExportSource, type ExportTensor, type SinkFile } from './checkpoint';
import { headerLength, parseHeader } from './safetensors';

const PIECE_BYTES = 4 << 20;

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

/** The weight files of a checkpoint folder: the index's shards, or model.safetensors, or every *.safetensors. */
async function weightFiles(folder: string, names: string[]): Promise<string[]> {
  if (names.includes(INDEX_FILE)) {
    const index = JSON.parse(await readFile(join(folder, INDEX_FILE), 'utf8')) as { weight_map?: Record<string, string> };
    if (!index.weight_map) throw new ExportError(`${INDEX_FILE} has no weight_map`);
    return [...new Set(Object.values(index.weight_map).map(plainName))].sort();
  }
  if (names.includes(SINGLE_FILE)) return [SINGLE_FILE];
  const all = names.filter((n) => n.endsWith('.safetensors')).sort();
  if (all.length === 0) throw new ExportError(`no safetensors weights in the folder`);
  return all;
}

/** An ExportSource over a Hugging Face checkpoint folder on disk. */
export async function nodeFolderExportSource(folder: string): Promise<ExportSource & { close(): Promise<void> }> {
  const names = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  const where = new Map<string, { file: string; begin: number; end: number }>();
  const tensors: ExportTensor[] = [];
  const handles = new Map<string, FileHandle>();
  for (const file of await weightFiles(folder, names)) {
    const handle = await open(join(folder, file), 'r');
    handles.set(file, handle);
    const size = (await handle.stat()).size;
    const first8 = new Uint8Array(8);
    await handle.read(first8, 0, 8, 0);
    const n = headerLength(first8);
    if (8 + n > size) throw new ExportError(`${file}: header runs past the end of the file`);
    const json = new Uint8Array(n);
    await handle.read(json, 0, n, 8);
    for (const t of parseHeader(json).tensors) {
      if (where.has(t.name)) throw new ExportError(`tensor "${t.name}" appears in two files`);
      if (t.end > size) throw new ExportError(`${file}: tensor "${t.name}" runs past the end of the file (truncated?)`);
      where.set(t.name, { file, begin: t.begin, end: t.end });
      tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength });
    }
  }
  return {
    tensors,
    async *chunks(name) {
      const w = where.get(name);
      if (!w) throw new ExportError(`no tensor "${name}" in the folder`);
      const handle = handles.get(w.file)!;
      for (let at = w.begin; at < w.end; ) {
        const piece = new Uint8Array(Math.min(PIECE_BYTES, w.end - at));
        const { bytesRead } = await handle.read(piece, 0, piece.byteLength, at);
        if (bytesRead === 0) throw new ExportError(`${w.file}: file ends at byte ${at}`);
        at += bytesRead;
        yield piece.subarray(0, bytesRead);
      }
    },
    readConfig: () => readFile(join(folder, 'config.json'), 'utf8'),
    files: names,
    readFile: async (name) => new Uint8Array(await readFile(join(folder, plainName(name)))),
    async close() {
      for (const h of handles.values()) await h.close();
    },
  };
}

/** Sizes of the files in a folder (for tests and the CLI's summary). */
export async function folderListing(folder: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of (await readdir(folder)).sort()) out[name] = (await stat(join(folder, name))).size;
  return out;
}
