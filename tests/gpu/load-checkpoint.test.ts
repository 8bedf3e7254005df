import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBuffer } from '../../src/gpu/buffers';
import {
  AccessDeniedError,
  CheckpointError,
  FileMissingError,
  GpuMemoryError,
  LoadCancelledError,
  NetworkError,
  PickleCheckpointError,
} from '../../src/io/errors';
import { FilesSource } from '../../src/io/file-source';
import { hubSource } from '../../src/io/http-source';
import { cachedSource } from '../../src/io/cache';
import { estimateGpuMemory, loadCheckpoint, outputWeight, type LoadOptions, type LoadProgress } from '../../src/io/load';
import { inspectCheckpoint } from '../../src/io/checkpoint';
import { NodeFolderSource } from '../../src/node/folder-source';
import type { CheckpointSource } from '../../src/io/source';
import { testRuntime } from '../helpers/gpu';
import { memoryCacheStorage, startHubServer, type HubServer } from '../helpers/hub-server';
import {
  asFiles,
  expectedStorageBytes,
  makeSyntheticCheckpoint,
  trackBuffers,
  writeCheckpointFiles,
  type SyntheticCheckpoint,
  type SyntheticOptions,
} from '../helpers/synthetic-checkpoint';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'load-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Loads `ck` from `source` and checks every tensor bit-exact against the reference storage. */
async function loadAndVerify(ck: SyntheticCheckpoint, source: CheckpointSource, options: LoadOptions = {}, expectF32: string[] = []) {
  const rt = await testRuntime();
  const tracker = trackBuffers(rt.device);
  try {
    const loaded = await loadCheckpoint(rt.device, source, options);
    const tied = ck.config.tie_word_embeddings === true;
    const needed = ck.tensors.filter((t) => !t.name.includes('rotary_emb') && !(tied && t.name === 'lm_head.weight'));
    expect([...loaded.tensors.keys()].sort()).toEqual(needed.map((t) => t.name).sort());
    for (const t of needed) {
      const g = loaded.tensors.get(t.name)!;
      const isNorm = t.name.endsWith('norm.weight');
      let storage: 'f32' | 'f16';
      if (isNorm || expectF32.includes(t.name)) storage = 'f32';
      else if (t.dtype === 'F32') storage = options.f32Storage ?? 'f32';
      else storage = 'f16';
      expect(g.dtype, t.name).toBe(storage);
      expect(g.shape).toEqual(t.shape);
      const want = expectedStorageBytes(t, storage);
      const got = new Uint8Array(await readBuffer(rt.device, g.buffer, want.byteLength));
      expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `${t.name} bytes`).toBe(0);
    }
    expect(loaded.fallbacks.map((f) => f.tensor).sort()).toEqual([...expectF32].sort());
    expect(loaded.bytesOnGpu).toBe([...loaded.tensors.values()].reduce((a, g) => a + g.buffer.size, 0));
    expect(tracker.alive().length).toBe(loaded.tensors.size);
    loaded.dispose();
    expect(tracker.alive()).toEqual([]);
    return loaded;
  } finally {
    tracker.restore();
  }
}

async function folderOf(name: string, opts: SyntheticOptions): Promise<{ ck: SyntheticCheckpoint; source: NodeFolderSource }> {
  const ck = makeSyntheticCheckpoint(opts);
  await writeCheckpointFiles(join(dir, name), ck.files);
  return { ck, source: new NodeFolderSource(join(dir, name)) };
}

describe('streaming checkpoint load (Node folder, local files)', () => {
  it('F32 -> f32, bit-exact', async () => {
    const { ck, source } = await folderOf('f32', { dtype: 'F32' });
    await loadAndVerify(ck, source);
  });

  it('F32 stored as f16 on request (norms stay f32), tiny chunks', async () => {
    const { ck, source } = await folderOf('f32h', { dtype: 'F32' });
    await loadAndVerify(ck, source, { f32Storage: 'f16', chunkBytes: 64 });
  });

  it('F16 -> f16 as is', async () => {
    const { ck, source } = await folderOf('f16', { dtype: 'F16', kvHeads: 2 });
    await loadAndVerify(ck, source);
  });

  it('BF16 -> f16; a tensor beyond the f16 range falls back to f32 (late in the tensor, small chunks)', async () => {
    const overflow = ['model.layers.1.mlp.down_proj.weight', 'lm_head.weight'];
    const { ck, source } = await folderOf('bf16', { dtype: 'BF16', overflow });
    const loaded = await loadAndVerify(ck, source, { chunkBytes: 96 }, overflow);
    expect(loaded.fallbacks[0]!.reason).toMatch(/65504/);
  });

  it('sharded BF16 checkpoint with GQA and llama3 rope scaling, from File objects', async () => {
    const ck = makeSyntheticCheckpoint({ dtype: 'BF16', shards: 3, kvHeads: 1, llama3Rope: true, seed: 99 });
    const loaded = await loadAndVerify(ck, new FilesSource(asFiles(ck.files)), { chunkBytes: 256 });
    expect(loaded.config.numKvHeads).toBe(1);
    expect(loaded.config.ropeScaling?.type).toBe('llama3');
  });

  it('tied embeddings (and an extra tensor skipped): outputWeight is the embedding', async () => {
    const { ck, source } = await folderOf('tied', { dtype: 'F16', tied: true, extra: true });
    const rt = await testRuntime();
    const loaded = await loadCheckpoint(rt.device, source);
    expect(loaded.tensors.has('lm_head.weight')).toBe(false);
    expect(outputWeight(loaded).name).toBe('model.embed_tokens.weight');
    expect(loaded.extra).toEqual(['model.layers.0.self_attn.rotary_emb.inv_freq']);
    loaded.dispose();
    await loadAndVerify(ck, source);
  });

  it('mixed dtypes and norms kept in their dtype when normsAsF32 is false', async () => {
    const ck = makeSyntheticCheckpoint({ dtype: 'F16', dtypes: { 'model.norm.weight': 'F16', 'model.layers.0.mlp.up_proj.weight': 'F32' } });
    const rt = await testRuntime();
    const loaded = await loadCheckpoint(rt.device, new FilesSource(asFiles(ck.files)), { normsAsF32: false });
    expect(loaded.tensors.get('model.norm.weight')!.dtype).toBe('f16');
    expect(loaded.tensors.get('model.layers.0.mlp.up_proj.weight')!.dtype).toBe('f32');
    loaded.dispose();
  });

  it('progress events are monotonic and end at bytesTotal', async () => {
    const { source } = await folderOf('progress', { dtype: 'F32', hidden: 32, intermediate: 64, vocab: 300 });
    const rt = await testRuntime();
    const events: LoadProgress[] = [];
    const loaded = await loadCheckpoint(rt.device, source, { chunkBytes: 1024, onProgress: (p) => events.push(p) });
    expect(events.length).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
    const last = events[events.length - 1]!;
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(last.tensor).toBeNull();
    loaded.dispose();
  });

  it('fingerprints: same weights from any source match; other weights of the same layout differ', async () => {
    const rt = await testRuntime();
    const a = makeSyntheticCheckpoint({ dtype: 'BF16', seed: 5 });
    const b = makeSyntheticCheckpoint({ dtype: 'BF16', seed: 6 });
    await writeCheckpointFiles(join(dir, 'fp-a'), a.files);
    const la = await loadCheckpoint(rt.device, new NodeFolderSource(join(dir, 'fp-a')));
    const la2 = await loadCheckpoint(rt.device, new FilesSource(asFiles(a.files)));
    const lb = await loadCheckpoint(rt.device, new FilesSource(asFiles(b.files)));
    expect(la.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(la2.fingerprint).toBe(la.fingerprint);
    expect(lb.layoutFingerprint).toBe(la.layoutFingerprint);
    expect(lb.fingerprint).not.toBe(la.fingerprint);
    const sharded = makeSyntheticCheckpoint({ dtype: 'BF16', seed: 5, shards: 2 });
    const ls = await loadCheckpoint(rt.device, new FilesSource(asFiles(sharded.files)));
    expect(ls.fingerprint).toBe(la.fingerprint);
    for (const l of [la, la2, lb, ls]) l.dispose();
  });
});

/** `inner` with its byte streams passed through `transform`. */
function mapStreams(inner: CheckpointSource, transform: (pieces: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>): CheckpointSource {
  return {
    name: inner.name,
    cacheKey: inner.cacheKey,
    size: (f, s) => inner.size(f, s),
    exists: (f, s) => inner.exists(f, s),
    readText: (f, s) => inner.readText(f, s),
    readRange: (f, a, b, s) => inner.readRange(f, a, b, s),
    stream: (f, a, b, s) => transform(inner.stream(f, a, b, s)),
  };
}

/** A source whose streams fail after `pieces` pieces in all (to fail a load half way). */
function failingAfter(inner: CheckpointSource, pieces: number, error: () => Error): CheckpointSource {
  let count = 0;
  return mapStreams(inner, async function* (stream) {
    for await (const piece of stream) {
      if (++count > pieces) throw error();
      yield piece;
    }
  });
}

/** Streams cut into small pieces, so a load takes many steps. */
function smallPieces(inner: CheckpointSource, size = 200): CheckpointSource {
  return mapStreams(inner, async function* (stream) {
    for await (const piece of stream) {
      for (let i = 0; i < piece.byteLength; i += size) yield piece.subarray(i, i + size);
    }
  });
}

describe('failed loads leave no GPU buffers', () => {
  async function expectCleanFailure(source: CheckpointSource, options: LoadOptions, errorClass: new (...a: never[]) => Error) {
    const rt = await testRuntime();
    const tracker = trackBuffers(rt.device);
    try {
      const error = await loadCheckpoint(rt.device, source, options).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toBeInstanceOf(CheckpointError);
      expect(tracker.alive()).toEqual([]);
      return { error: error as Error, created: tracker.created() };
    } finally {
      tracker.restore();
    }
  }

  it('a source failing half way', async () => {
    const ck = makeSyntheticCheckpoint({ dtype: 'BF16' });
    const source = failingAfter(smallPieces(new FilesSource(asFiles(ck.files))), 20, () => new NetworkError('test', 'model.safetensors', 'cut'));
    const { created } = await expectCleanFailure(source, {}, NetworkError);
    expect(created).toBeGreaterThan(2);
  });

  it('cancellation through AbortSignal mid-load', async () => {
    const ck = makeSyntheticCheckpoint({ dtype: 'F16', hidden: 32, intermediate: 64, vocab: 200 });
    const controller = new AbortController();
    let steps = 0;
    const source = smallPieces(new FilesSource(asFiles(ck.files)), 100);
    const { created } = await expectCleanFailure(
      source,
      { signal: controller.signal, chunkBytes: 64, onProgress: () => ++steps === 1 && controller.abort() },
      LoadCancelledError,
    );
    expect(created).toBeGreaterThan(0);
  });

  it('an already aborted signal, a pickle-only folder, a truncated shard', async () => {
    const ck = makeSyntheticCheckpoint();
    const c = new AbortController();
    c.abort();
    await expectCleanFailure(new FilesSource(asFiles(ck.files)), { signal: c.signal }, LoadCancelledError);
    const pickle = new Map(ck.files);
    pickle.delete('model.safetensors');
    pickle.set('pytorch_model.bin', new Uint8Array(100));
    await expectCleanFailure(new FilesSource(asFiles(pickle)), {}, PickleCheckpointError);
  });

  it('refuses before creating buffers when a tensor or the total cannot fit', async () => {
    const ck = makeSyntheticCheckpoint({ dtype: 'F32', vocab: 1000, hidden: 64 });
    const source = new FilesSource(asFiles(ck.files));
    const { error } = await expectCleanFailure(source, { memoryBudgetBytes: 100_000 }, GpuMemoryError);
    expect(error.message).toMatch(/budget/);
    const rt = await testRuntime();
    const index = await inspectCheckpoint(source);
    const estimate = estimateGpuMemory(index, { maxBufferSize: 1000, maxStorageBufferBindingSize: 1000 });
    expect(estimate.largestTensor).toBe('model.embed_tokens.weight');
    expect(estimate.largestBytes).toBe(1000 * 64 * 4);
    const fakeDevice = Object.create(rt.device, { limits: { value: { ...rt.device.limits, maxBufferSize: 100_000, maxStorageBufferBindingSize: 100_000 } } });
    const tracker = trackBuffers(rt.device);
    const err = await loadCheckpoint(fakeDevice, source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuMemoryError);
    expect((err as Error).message).toMatch(/embed_tokens.*maxBufferSize/);
    expect(tracker.created()).toBe(0);
    tracker.restore();
  });
});

describe('loading from a Hub server over HTTP', () => {
  let server: HubServer;
  const ck = makeSyntheticCheckpoint({ dtype: 'BF16', kvHeads: 2, shards: 2, overflow: ['model.layers.0.self_attn.o_proj.weight'] });
  const single = makeSyntheticCheckpoint({ dtype: 'F16', tied: true });
  beforeAll(async () => {
    server = await startHubServer({
      'test-org/tiny': { files: ck.files },
      'test-org/single': { files: single.files },
      'test-org/gated': { files: ck.files, gatedToken: 'hf_secret_token_123' },
      'test-org/pickle': { files: new Map([['config.json', ck.files.get('config.json')!], ['pytorch_model.bin', new Uint8Array(64)]]) },
    });
  });
  afterAll(async () => server?.close());

  it('loads bit-exact through Range requests, resuming a cut download', async () => {
    server.faults.push({ file: 'model-00002-of-00002.safetensors', kind: 'cut', afterBytes: 700, times: 1 });
    const source = hubSource({ modelId: 'test-org/tiny', host: server.url, retryDelayMs: 10 });
    await loadAndVerify(ck, source, { chunkBytes: 128 }, ['model.layers.0.self_attn.o_proj.weight']);
    const shard2 = server.requests.filter((r) => r.path.endsWith('model-00002-of-00002.safetensors') && r.range);
    const resumed = shard2.filter((r) => r.status === 206).map((r) => Number(/bytes=(\d+)/.exec(r.range!)![1]));
    expect(resumed.length).toBeGreaterThan(2);
    expect(server.requests.every((r) => !r.hasAuth)).toBe(true);
  });

  it('a second load through Cache Storage makes no HTTP request (sharded; single file with a cached 404 probe)', async () => {
    const caches = memoryCacheStorage();
    for (const [id, checkpoint, f32] of [['test-org/tiny', ck, ['model.layers.0.self_attn.o_proj.weight']], ['test-org/single', single, []]] as const) {
      const open = () => cachedSource(hubSource({ modelId: id, host: server.url }), { caches, blockBytes: 4096 });
      const first = await loadAndVerify(checkpoint, open(), { chunkBytes: 256 }, [...f32]);
      const before = server.requests.length;
      const second = await loadAndVerify(checkpoint, open(), {}, [...f32]);
      expect(server.requests.slice(before)).toEqual([]);
      expect(second.fingerprint).toBe(first.fingerprint);
    }
  });

  it('gated repository: 401 without token, 403 with a wrong one, loads with the right one; token never shown', async () => {
    const noToken = await loadCheckpoint((await testRuntime()).device, hubSource({ modelId: 'test-org/gated', host: server.url })).catch((e: unknown) => e);
    expect(noToken).toBeInstanceOf(AccessDeniedError);
    expect((noToken as Error).message).toMatch(/gated.*access token/);
    const wrong = hubSource({ modelId: 'test-org/gated', host: server.url, token: 'hf_wrong' });
    const denied = await wrong.readText('config.json').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AccessDeniedError);
    expect((denied as AccessDeniedError).status).toBe(403);
    const right = hubSource({ modelId: 'test-org/gated', host: server.url, token: 'hf_secret_token_123' });
    const loaded = await loadAndVerify(ck, right, {}, ['model.layers.0.self_attn.o_proj.weight']);
    const shown = JSON.stringify([right, right.name, right.cacheKey, loaded.sourceName, String(right)]);
    expect(shown).not.toContain('hf_secret');
  });

  it('missing repo / file / pickle-only repo map to clear errors', async () => {
    const device = (await testRuntime()).device;
    const missingRepo = await loadCheckpoint(device, hubSource({ modelId: 'test-org/nope', host: server.url })).catch((e: unknown) => e);
    expect(missingRepo).toBeInstanceOf(AccessDeniedError);
    expect((missingRepo as Error).message).toMatch(/not found/);
    const missingFile = await hubSource({ modelId: 'test-org/tiny', host: server.url }).readText('nope.json').catch((e: unknown) => e);
    expect(missingFile).toBeInstanceOf(FileMissingError);
    const pickle = await loadCheckpoint(device, hubSource({ modelId: 'test-org/pickle', host: server.url })).catch((e: unknown) => e);
    expect(pickle).toBeInstanceOf(PickleCheckpointError);
  });
});
