/**
 * One entry point from a serializable description (what the UI sends the worker) to a source.
 * File objects survive postMessage, so a local folder travels to the worker as its files.
 */
import { cachedSource, type CacheOptions } from './cache';
import { FilesSource, type PathedFile } from './file-source';
import { embeddedSource, hubSource } from './http-source';
import type { CheckpointSource } from './source';

export type SourceSpec =
  | { kind: 'embedded'; name: string; baseUrl?: string }
  | { kind: 'hub'; id: string; revision?: string; host?: string; token?: string }
  | { kind: 'local'; files: (File | PathedFile)[]; name?: string };

/** How a mask or a report names the model: no token, no file handles, no host. */
export type SourceRecord = { kind: 'hub'; id: string; revision: string } | { kind: 'local' | 'embedded'; name: string };

export interface OpenOptions {
  /** Cache Hub downloads in Cache Storage (browser only; default true). */
  cache?: boolean | CacheOptions;
  fetch?: typeof fetch;
}

export function openSource(spec: SourceSpec, options: OpenOptions = {}): CheckpointSource {
  switch (spec.kind) {
    case 'embedded':
      return embeddedSource(spec.name, { baseUrl: spec.baseUrl, fetch: options.fetch });
    case 'hub': {
      const source = hubSource({ modelId: spec.id, revision: spec.revision, host: spec.host, token: spec.token, fetch: options.fetch });
      if (options.cache === false) return source;
      return cachedSource(source, typeof options.cache === 'object' ? options.cache : {});
    }
    case 'local':
      return new FilesSource(spec.files, spec.name);
  }
}

export function describeSource(spec: SourceSpec): SourceRecord {
  switch (spec.kind) {
    case 'hub':
      return { kind: 'hub', id: spec.id, revision: spec.revision || 'main' };
    case 'embedded':
      return { kind: 'embedded', name: spec.name };
    case 'local':
      return { kind: 'local', name: new FilesSource(spec.files, spec.name).name.replace(/^files:/, '') };
  }
}
