/** The engine host for Node: checkpoints from folders, the Hub or the package's embedded model. */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobSink } from '../export/blob-sink';
import { openSource } from '../io/open';
import { NodeFolderSource } from './folder-source';
import { readRegularFile } from './regular-files';
import { EMBEDDED_MODEL, EMBEDDED_TEXTS } from '../app/embedded';
import type { EngineHost } from '../app/lab';
import type { ModelSourceSpec } from '../app/protocol';

/** The package root (holding public/): found upwards from this bundle, so it works from dist-node/ and from src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'public'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const PUBLIC = join(packageRoot(), 'public');

/**
 * A model argument: "embedded" (or the embedded model's name), an existing folder, or a Hub
 * id "owner/name[@revision]", in that order: a path that exists on disk is a folder even when it
 * also reads as a Hub id (write ./owner/name to be explicit, or move the folder to use the Hub).
 */
export function modelSpec(arg: string, hubHost?: string, token?: string): ModelSourceSpec {
  if (arg === 'embedded' || arg === EMBEDDED_MODEL) return { kind: 'embedded', name: EMBEDDED_MODEL };
  if (existsSync(arg)) {
    if (!statSync(arg).isDirectory()) throw new UsageError(`model "${arg}" is a file; pass the checkpoint folder that holds config.json and the weights`);
    return { kind: 'folder', path: resolve(arg) };
  }
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(arg);
  if (!m) throw new UsageError(`model "${arg}" is neither a folder, "embedded", nor a Hub id like owner/name[@revision]`);
  return { kind: 'hub', id: m[1]!, revision: m[2] ?? 'main', ...(hubHost ? { host: hubHost } : {}), ...(token ? { token } : {}) };
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const nodeHost: EngineHost = {
  source(spec) {
    switch (spec.kind) {
      case 'embedded':
        return new NodeFolderSource(join(PUBLIC, 'models', spec.name));
      case 'folder':
        return new NodeFolderSource(spec.path);
      case 'hub':
        return openSource(spec);
      case 'local':
        throw new UsageError('File objects are a browser source; pass a folder path');
    }
  },
  embeddedText: (name) => readFile(join(PUBLIC, 'data', EMBEDDED_TEXTS[name]), 'utf8'),
  embeddedFile: async (path) => new Uint8Array(await readFile(join(PUBLIC, 'data', path))),
  exportSink: () => new BlobSink(),
};

/** A text file the user named (mask, calibration or evaluation text); regular files only. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readRegularFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}
