/**
 * Local files the user picked (a folder picker's FileList, or files dropped on the page).
 * Reads ranges with File.slice(), so nothing is read before it is needed.
 */
import { CheckpointError, FileMissingError } from './errors';
import { PIECE_BYTES, piecewise, throwIfAborted, type CheckpointSource } from './source';

/** A file with its path relative to what the user dropped or picked ("folder/config.json"). */
export interface PathedFile {
  file: File;
  path: string;
}

export class FilesSource implements CheckpointSource {
  readonly name: string;
  readonly cacheKey: string;
  readonly #files = new Map<string, Blob>();

  /**
   * `files`: File objects, or {file, path} pairs (from filesFromDrop). A path with folders
   * ("folder/sub/x", also a folder picker's webkitRelativePath) is used without its first segment,
   * so the files of the chosen folder are found by their plain names.
   */
  constructor(files: Iterable<File | PathedFile> | ArrayLike<File | PathedFile>, name?: string) {
    let folder = '';
    const signature: string[] = [];
    for (const item of Array.from(files as ArrayLike<File | PathedFile>)) {
      const file = 'path' in item && 'file' in item ? item.file : (item as File);
      const rel = 'path' in item && 'file' in item ? item.path : (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
      const parts = rel.split('/').filter(Boolean);
      if (parts.length > 1) folder ||= parts[0]!;
      const key = parts.length > 1 ? parts.slice(1).join('/') : parts[0] ?? file.name;
      this.#files.set(key, file);
      signature.push(`${key}:${file.size}:${file.lastModified ?? 0}`);
    }
    if (this.#files.size === 0) throw new CheckpointError('no files were given', 'no-files');
    this.name = `files:${name ?? (folder || 'selection')}`;
    this.cacheKey = `files/${name ?? folder}/${fnv1a(signature.sort().join('|'))}`;
  }

  async list(): Promise<string[]> {
    return [...this.#files.keys()].sort();
  }

  #get(file: string): Blob {
    const blob = this.#files.get(file);
    if (!blob) throw new FileMissingError(this.name, file);
    return blob;
  }

  async size(file: string): Promise<number> {
    return this.#get(file).size;
  }

  async exists(file: string): Promise<boolean> {
    return this.#files.has(file);
  }

  async readText(file: string, signal?: AbortSignal): Promise<string> {
    throwIfAborted(signal);
    return this.#get(file).text();
  }

  async readRange(file: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    return new Uint8Array(await this.#get(file).slice(start, end).arrayBuffer());
  }

  stream(file: string, start: number, end: number, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const blob = this.#get(file);
    return piecewise(file, start, end, async (at, n) => new Uint8Array(await blob.slice(at, at + n).arrayBuffer()), signal, PIECE_BYTES);
  }
}

/** 32-bit FNV-1a of a string, hex: a short, stable cache key for a set of local files. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The files of a drop on the page: dropped files, and every file inside dropped folders (two
 * levels deep), with their paths. Call it synchronously in the drop handler (entries must be taken
 * before the event returns): `new FilesSource(await filesFromDrop(event.dataTransfer.items))`.
 */
export function filesFromDrop(items: DataTransferItemList | ArrayLike<DataTransferItem>): Promise<PathedFile[]> {
  const entries = Array.from(items as ArrayLike<DataTransferItem>)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  const out: PathedFile[] = [];
  const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject));
  const children = async (dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> => {
    const reader = dir.createReader();
    const all: FileSystemEntry[] = [];
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) return all;
      all.push(...batch);
    }
  };
  const walk = async (entry: FileSystemEntry, prefix: string, depth: number): Promise<void> => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile) out.push({ file: await fileOf(entry as FileSystemFileEntry), path });
    else if (entry.isDirectory && depth < 3) {
      for (const child of await children(entry as FileSystemDirectoryEntry)) await walk(child, path, depth + 1);
    }
  };
  return (async () => {
    for (const entry of entries) await walk(entry, '', 0);
    return out;
  })();
}
