/**
 * The in-memory sink for the pruned checkpoint (both hosts): each write becomes a Blob part at
 * once (a browser may page it to disk), so the JS heap never holds a whole shard; `files()` gives
 * one File per written file for download links.
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
