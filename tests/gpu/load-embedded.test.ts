import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBuffer } from '../../src/gpu/buffers';
import { embeddedSource } from '../../src/io/http-source';
import { loadCheckpoint } from '../../src/io/load';
import { inspectCheckpoint } from '../../src/io/checkpoint';
import { NodeFolderSource } from '../../src/node/folder-source';
import { loadTokenizer } from '../../src/io/tokenizer';
import { testRuntime } from '../helpers/gpu';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const FOLDER = 'public/models/kjv-tiny-llama';
const present = existsSync(join(FOLDER, 'model.safetensors')) && existsSync(join(FOLDER, 'config.json'));

/** The embedded model through the app's URL layout (/models/<name>/), as the browser fetches it. */
describe.runIf(present)('embedded kjv-tiny-llama over HTTP', () => {
  let server: HubServer;
  beforeAll(async () => {
    const files = new Map<string, Uint8Array>();
    for (const name of await readdir(FOLDER)) files.set(name, new Uint8Array(await readFile(join(FOLDER, name))));
    server = await startHubServer({}, { 'kjv-tiny-llama': files });
  });
  afterAll(async () => server?.close());

  it('loads every tensor byte-exact (F16 as is, norms in f32) and its tokenizer, from the same source', async () => {
    const rt = await testRuntime();
    const source = embeddedSource('kjv-tiny-llama', { baseUrl: `${server.url}/` });
    const loaded = await loadCheckpoint(rt.device, source);
    try {
      expect(loaded.config.architecture).toBe('LlamaForCausalLM');
      const local = await inspectCheckpoint(new NodeFolderSource(FOLDER));
      expect(loaded.layoutFingerprint).toBe(local.layoutFingerprint);
      expect(loaded.tensors.size).toBe(local.planned.length);
      const file = new Uint8Array(await readFile(join(FOLDER, 'model.safetensors')));
      for (const t of local.planned) {
        const g = loaded.tensors.get(t.name)!;
        const raw = file.subarray(t.begin, t.end);
        const keepsDtype = (t.dtype === 'F16' && g.dtype === 'f16') || (t.dtype === 'F32' && g.dtype === 'f32');
        const got = new Uint8Array(await readBuffer(rt.device, g.buffer, keepsDtype ? raw.byteLength : raw.byteLength * 2));
        if (keepsDtype) expect(Buffer.compare(Buffer.from(got), Buffer.from(raw)), t.name).toBe(0);
        else expect(t.spec.isNorm && g.dtype === 'f32', t.name).toBe(true);
      }
      const tok = await loadTokenizer(source, { config: loaded.config });
      expect(tok.bosId).toBe(loaded.config.bosTokenId);
      expect(tok.vocabSize).toBeLessThanOrEqual(loaded.config.vocabSize);
      expect(tok.decode(tok.encode('In the beginning God created the heaven and the earth.'))).toBe('In the beginning God created the heaven and the earth.');
    } finally {
      loaded.dispose();
    }
  });
});
