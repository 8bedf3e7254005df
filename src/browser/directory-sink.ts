/**
 * A browser sink for the pruned checkpoint: a folder picked with the File System Access API
 * (`showDirectoryPicker`, Chromium); each file streams to disk through `createWritable()`.
 * `canPickDirectory()` says whether the API exists.
 */
import { ExportError, type CheckpointSink, type SinkFile } from '../export/checkpoint';

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
