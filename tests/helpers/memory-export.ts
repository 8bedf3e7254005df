/** An in-memory export source and sink, for the export tests. */
import { ExportError, type CheckpointSink, type ExportSource, type SinkFile } from '../../src/export/checkpoint';
import type { SafetensorsDType } from '../../src/io/safetensors';

const encoder = new TextEncoder();

export interface MemoryTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

/** An ExportSource over tensors and files held in memory; `pieceBytes` splits reads (for tests). */
export function memorySource(config: string | object, tensors: readonly MemoryTensor[], files: Record<string, Uint8Array | string> = {}, pieceBytes = 1 << 20): ExportSource {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const fileMap = new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? encoder.encode(v) : v]));
  return {
    tensors: tensors.map(({ name, dtype, shape, data }) => ({ name, dtype, shape, byteLength: data.byteLength })),
    async *chunks(name) {
      const t = byName.get(name);
      if (!t) throw new ExportError(`no tensor "${name}" in the source`);
      for (let at = 0; at < t.data.byteLength; at += pieceBytes) yield t.data.subarray(at, Math.min(at + pieceBytes, t.data.byteLength));
    },
    readConfig: async () => (typeof config === 'string' ? config : JSON.stringify(config, null, 2)),
    files: [...fileMap.keys()],
    readFile: async (name) => {
      const f = fileMap.get(name);
      if (!f) throw new ExportError(`no file "${name}" in the source`);
      return f;
    },
  };
}

/** A sink that keeps every file in memory as one Uint8Array. */
export class MemorySink implements CheckpointSink {
  readonly files = new Map<string, Uint8Array>();
  async create(name: string, size: number): Promise<SinkFile> {
    const buf = new Uint8Array(size);
    let at = 0;
    return {
      write: async (chunk) => {
        if (at + chunk.byteLength > size) throw new ExportError(`${name}: more than the announced ${size} bytes`);
        buf.set(chunk, at);
        at += chunk.byteLength;
      },
      close: async () => {
        if (at !== size) throw new ExportError(`${name}: ${at} of ${size} bytes written`);
        this.files.set(name, buf);
      },
    };
  }
}
