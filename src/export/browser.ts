/**
 * Browser sinks for the pruned checkpoint.
 * - `BlobSink`: each write becomes a Blob part at once (the browser may page it to disk), so the
 *   JS heap never holds a whole shard; `files()` gives one File per written file for download links.
 * - `DirectorySink`: a folder picked with the File System Access API (`showDirectoryPicker`,
 *   Chromium): each file streams to disk through `createWritable()`. `canPickDirectory()` says
 *   whether the API exists.
 */
import { ExportError, type CheckpointSink, type SinkFile } from './checkpoint';

export class BlobSink implements CheckpointSink {
  readonly #files = new Map<string, Blob>();

  async create(name: string, size: number): Promise<SinkFile> {
    const parts: Blob[] = [];
    let at = 0;
    return {
      write: async (chunk) => {
        parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
        at += chunk.byteLength;
      },
      close: async () => {
        if (at !== size) throw new ExportError(`${name}: wrote ${at} bytes, expected ${size}`);
        this.#files.set(name, new Blob(parts, { type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
      },
      abort: async () => {
        parts.length = 0;
      },
    };
  }

  /** Every completed file, in write order. */
  files(): File[] {
    return [...this.#files.entries()].map(([name, blob]) => new File([blob], name, { type: blob.type }));
  }

  get(name: string): Blob | undefined {
    return this.#files.get(name);
  }
}

/** The subset of FileSystemDirectoryHandle the sink uses (lets tests pass a fake). */
export interface DirectoryHandleLike {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<{ createWritable(): Promise<WritableLike> }>;
  removeEntry?(name: string): Promise<void>;
}

export interface WritableLike {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
  abort?(reason?: unknown): Promise<void>;
}

export class DirectorySink implements CheckpointSink {
  constructor(private readonly dir: DirectoryHandleLike) {}

  async create(name: string, size: number): Promise<SinkFile> {
    const handle = await this.dir.getFileHandle(name, { create: true });
    const writable = await handle.createWritable();
    let at = 0;
    return {
      write: async (chunk) => {
        await writable.write(chunk as Uint8Array<ArrayBuffer>);
        at += chunk.byteLength;
      },
      close: async () => {
        if (at !== size) {
          await writable.abort?.();
          throw new ExportError(`${name}: wrote ${at} bytes, expected ${size}`);
        }
        await writable.close();
      },
      abort: async () => {
        await writable.abort?.().catch(() => undefined);
        await this.dir.removeEntry?.(name).catch(() => undefined);
      },
    };
  }
}

/** Whether the File System Access API's folder picker exists here (Chromium, secure context). */
export function canPickDirectory(): boolean {
  return typeof (globalThis as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
}
