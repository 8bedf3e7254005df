/**
 * Local files the user picked (a folder picker's FileList, or files dropped on the page).
 * Reads ranges with File.slice(), so nothing is read before it is needed.
 */
import { CheckpointError, FileMissingError } from './errors';
import { PIECE_BYTES, piecewise, throwIfAborted, type CheckpointSource } from './source';

export class FilesSource implements CheckpointSource {
  readonly name: string;
  readonly cacheKey: string;
  readonly #files = new Map<string, Blob>();

  /**
   * `files`: File objects; a folder picker's webkitRelativePath ("folder/sub/x") is used without its
   * first segment, so files of the chosen folder are found by their plain names.
   */
  constructor(files: Iterable<File> | ArrayLike<File>, name?: string) {
    let folder = '';
    for (const file of Array.from(files as ArrayLike<File>)) {
      const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
      const parts = rel.split('/').filter(Boolean);
      if (parts.length > 1) folder ||= parts[0]!;
      const key = parts.length > 1 ? parts.slice(1).join('/') : parts[0] ?? file.name;
      this.#files.set(key, file);
    }
    if (this.#files.size === 0) throw new CheckpointError('no files were given', 'no-files');
    this.name = `files:${name ?? (folder || 'selection')}`;
    const signature = [...this.#files].map(([k, f]) => `${k}:${f.size}:${(f as File).lastModified ?? 0}`).sort().join('|');
    this.cacheKey = `files/${name ?? folder}/${fnv1a(signature)}`;
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
