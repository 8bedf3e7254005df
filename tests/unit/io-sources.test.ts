import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedSource, checkpointCacheUsage, clearCheckpointCache } from '../../src/io/cache';
import { bf16ToF16, convertChunk } from '../../src/io/convert';
import { AccessDeniedError, CheckpointError, FileMissingError, LoadCancelledError, NetworkError, TruncatedFileError } from '../../src/io/errors';
import { FilesSource, filesFromDrop } from '../../src/io/file-source';
import { embeddedSource, hubSource } from '../../src/io/http-source';
import { NodeFolderSource } from '../../src/node/folder-source';
import { describeSource, openSource } from '../../src/io/open';
import { collect, type CheckpointSource } from '../../src/io/source';
import { bf16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { memoryCacheStorage, startHubServer, type HubServer } from '../helpers/hub-server';
import { asFiles, writeCheckpointFiles } from '../helpers/synthetic-checkpoint';

const blob = new Uint8Array(300_001).map((_, i) => (i * 7919 + (i >> 8)) & 0xff);
const files = new Map<string, Uint8Array>([
  ['blob.bin', blob],
  ['config.json', new TextEncoder().encode('{"a": 1}')],
  ['sub/x.txt', new TextEncoder().encode('nested')],
]);

let server: HubServer;
let dir: string;
beforeAll(async () => {
  server = await startHubServer({ 'org/model': { files, revisions: ['main', 'v1.0'] }, 'org/gated': { files, gatedToken: 'tok' } }, { tiny: files });
  dir = await mkdtemp(join(tmpdir(), 'io-sources-'));
  await writeCheckpointFiles(dir, new Map([...files].filter(([k]) => !k.includes('/'))));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const hub = (extra: Partial<Parameters<typeof hubSource>[0]> = {}) =>
  hubSource({ modelId: 'org/model', host: server.url, retryDelayMs: 5, ...extra });

function expectBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.byteLength).toBe(want.byteLength);
  expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(0);
}

/** The same checks for every source kind. */
async function checkSource(source: CheckpointSource) {
  expect(await source.size('blob.bin')).toBe(blob.byteLength);
  expect(await source.exists('blob.bin')).toBe(true);
  expect(await source.exists('missing.bin')).toBe(false);
  await expect(source.size('missing.bin')).rejects.toBeInstanceOf(FileMissingError);
  await expect(source.readText('missing.json')).rejects.toBeInstanceOf(FileMissingError);
  expect(JSON.parse(await source.readText('config.json'))).toEqual({ a: 1 });
  expectBytes(await source.readRange('blob.bin', 0, 8), blob.subarray(0, 8));
  expectBytes(await source.readRange('blob.bin', 123_456, 234_567), blob.subarray(123_456, 234_567));
  expectBytes(await collect(source.stream('blob.bin', 5, blob.byteLength), blob.byteLength - 5), blob.subarray(5));
}

describe('checkpoint sources', () => {
  it('Hub (HTTP Range) source', async () => {
    await checkSource(hub());
    await checkSource(hub({ revision: 'v1.0' }));
  });

  it('embedded source (/models/<name>/)', async () => {
    await checkSource(embeddedSource('tiny', { baseUrl: `${server.url}/` }));
    expect(() => embeddedSource('tiny')).toThrow(CheckpointError); // no page origin in Node
  });

  it('embedded source behind an SPA fallback (index.html for missing files, as the Vite dev server does)', async () => {
    const spa = await startHubServer({}, { tiny: files }, { spaFallback: true });
    try {
      const source = embeddedSource('tiny', { baseUrl: `${spa.url}/` });
      await checkSource(source);
      expect(await source.exists('model.safetensors.index.json')).toBe(false);
    } finally {
      await spa.close();
    }
  });

  it('local File objects and a Node folder', async () => {
    const local = new FilesSource(asFiles(files, 'picked'));
    await checkSource(local);
    expect(local.name).toBe('files:picked');
    expect(await local.readText('sub/x.txt')).toBe('nested');
    await checkSource(new NodeFolderSource(dir));
    await expect(new NodeFolderSource(dir).readText('../etc/passwd')).rejects.toBeInstanceOf(CheckpointError);
  });

  it('a dropped folder (FileSystem entries) becomes a source', async () => {
    const fileEntry = (name: string, bytes: Uint8Array) => ({
      name, isFile: true, isDirectory: false,
      file: (ok: (f: File) => void) => ok(new File([bytes as Uint8Array<ArrayBuffer>], name)),
    });
    const dirEntry = (name: string, kids: unknown[]) => ({
      name, isFile: false, isDirectory: true,
      createReader: () => {
        let done = false;
        return { readEntries: (ok: (e: unknown[]) => void) => { ok(done ? [] : kids); done = true; } };
      },
    });
    const folder = dirEntry('My-Model', [
      fileEntry('blob.bin', blob),
      fileEntry('config.json', files.get('config.json')!),
      dirEntry('sub', [fileEntry('x.txt', files.get('sub/x.txt')!)]),
    ]);
    const items = [{ kind: 'file', webkitGetAsEntry: () => folder }, { kind: 'string', webkitGetAsEntry: () => null }];
    const dropped = await filesFromDrop(items as unknown as DataTransferItem[]);
    expect(dropped.map((d) => d.path).sort()).toEqual(['My-Model/blob.bin', 'My-Model/config.json', 'My-Model/sub/x.txt']);
    const source = new FilesSource(dropped);
    expect(source.name).toBe('files:My-Model');
    await checkSource(source);
    expect(await source.readText('sub/x.txt')).toBe('nested');
  });

  it('opens sources from serializable specs and records them without secrets', async () => {
    await checkSource(openSource({ kind: 'hub', id: 'org/gated', host: server.url, token: 'tok' }));
    await checkSource(openSource({ kind: 'embedded', name: 'tiny', baseUrl: `${server.url}/` }));
    await checkSource(openSource({ kind: 'local', files: asFiles(files, 'picked') }));
    expect(describeSource({ kind: 'hub', id: 'org/gated', host: server.url, token: 'tok' })).toEqual({ kind: 'hub', id: 'org/gated', revision: 'main' });
    expect(describeSource({ kind: 'local', files: asFiles(files, 'picked') })).toEqual({ kind: 'local', name: 'picked' });
    expect(describeSource({ kind: 'embedded', name: 'tiny' })).toEqual({ kind: 'embedded', name: 'tiny' });
  });

  it('resumes a cut transfer with Range from the last byte received', async () => {
    server.faults.push({ file: 'blob.bin', kind: 'cut', afterBytes: 50_000, times: 2 });
    const before = server.requests.length;
    const bytes = await hub().readRange('blob.bin', 1000, 290_000);
    expectBytes(bytes, blob.subarray(1000, 290_000));
    const ranges = server.requests.slice(before).map((r) => r.range);
    expect(ranges[0]).toBe('bytes=1000-289999');
    expect(ranges[1]).toBe(`bytes=${1000 + 50_000}-289999`);
    expect(ranges.length).toBe(3);
  });

  it('retries 500s, copes with a server that ignores Range, gives up with NetworkError', async () => {
    server.faults.push({ file: 'blob.bin', kind: '500', times: 2 });
    expectBytes(await hub().readRange('blob.bin', 10, 20), blob.subarray(10, 20));
    server.faults.push({ file: 'blob.bin', kind: 'ignore-range', times: 1 });
    expectBytes(await hub().readRange('blob.bin', 100_000, 100_100), blob.subarray(100_000, 100_100));
    server.faults.push({ file: 'blob.bin', kind: '500', times: 10 });
    const error = await hub({ retries: 2 }).readRange('blob.bin', 0, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/HTTP 500.*3 attempts/);
    server.faults.length = 0;
  });

  it('maps 401/403/404 to access and missing-file errors; the token stays private', async () => {
    const gated = await hubSource({ modelId: 'org/gated', host: server.url }).readText('config.json').catch((e: unknown) => e);
    expect(gated).toBeInstanceOf(AccessDeniedError);
    expect((gated as Error).message).toMatch(/gated/);
    const withToken = hubSource({ modelId: 'org/gated', host: server.url, token: 'tok' });
    expect(await withToken.readText('config.json')).toBe('{"a": 1}');
    expect(withToken.hasToken).toBe(true);
    expect(JSON.stringify(withToken) + withToken.name + withToken.cacheKey).not.toContain('tok"');
    const revision = await hub({ revision: 'nope' }).readText('config.json').catch((e: unknown) => e);
    expect(revision).toBeInstanceOf(AccessDeniedError);
    expect((revision as Error).message).toMatch(/revision not found/);
    expect(() => hubSource({ modelId: '../etc' })).toThrow(CheckpointError);
  });

  it('cancels an in-flight download', async () => {
    const controller = new AbortController();
    const stream = hub().stream('blob.bin', 0, blob.byteLength, controller.signal);
    const error = await (async () => {
      for await (const _ of stream) controller.abort();
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadCancelledError);
  });

  it('a File shorter than the range asked for is a truncated file', async () => {
    const source = new FilesSource(asFiles(files));
    await expect(collect(source.stream('blob.bin', 0, blob.byteLength + 10), blob.byteLength + 10)).rejects.toBeInstanceOf(TruncatedFileError);
  });
});

describe('Cache Storage layer', () => {
  it('serves repeated reads from the cache in blocks; reports size; clears', async () => {
    const caches = memoryCacheStorage();
    const options = { caches, blockBytes: 64 * 1024 };
    const source = cachedSource(hub({ token: 'secret-token' }), options);
    const first = await source.readRange('blob.bin', 70_000, 200_000);
    expect(await source.readText('config.json')).toBe('{"a": 1}');
    const before = server.requests.length;
    const second = await source.readRange('blob.bin', 70_000, 200_000);
    expect(await source.readText('config.json')).toBe('{"a": 1}');
    expect(await source.size('blob.bin')).toBe(blob.byteLength);
    expect(server.requests.length).toBe(before);
    expectBytes(first, blob.subarray(70_000, 200_000));
    expectBytes(second, first);
    const usage = await checkpointCacheUsage(options);
    expect(usage.bytes).toBe(3 * 64 * 1024 + 8); // blocks 1..3 + config.json
    const keys = await (await caches.open('depth-pruning-lab-checkpoints-v1')).keys();
    expect(keys.some((k) => k.url.includes('secret'))).toBe(false);
    expect(await clearCheckpointCache(options)).toBe(true);
    expect((await checkpointCacheUsage(options)).bytes).toBe(0);
  });

  it('is a no-op without Cache Storage', () => {
    const source = hub();
    expect(cachedSource(source)).toBe(source);
  });
});

describe('dtype conversion', () => {
  it('BF16 -> f16 equals the f32 round trip for all 65536 bit patterns, and flags overflow', () => {
    const bad: string[] = [];
    const out = new Uint16Array(1);
    for (let h = 0; h < 65536; h++) {
      const x = bf16BitsToF32(h);
      const ok = bf16ToF16(Uint16Array.of(h), out);
      if (Number.isFinite(x) && Math.abs(x) > 65504) {
        if (ok) bad.push(`${h.toString(16)}: overflow not flagged`);
      } else if (!Number.isNaN(x) && (!ok || out[0] !== f32ToF16Bits(x))) {
        bad.push(`${h.toString(16)}: got ${out[0]!.toString(16)}, want ${f32ToF16Bits(x).toString(16)}`);
      }
    }
    expect(bad).toEqual([]);
    // The paired path (aligned arrays, odd length, mixed ranges) agrees with the one-value path.
    const all = Uint16Array.from({ length: 65537 }, (_, i) => (i * 40503) & 0xffff).filter((h) => {
      const x = bf16BitsToF32(h);
      return !Number.isNaN(x) && !(Number.isFinite(x) && Math.abs(x) > 65504);
    });
    const paired = new Uint16Array(all.length);
    expect(bf16ToF16(all, paired)).toBe(true);
    const single = all.map((h) => f32ToF16Bits(bf16BitsToF32(h)));
    expect(Buffer.compare(Buffer.from(paired.buffer), Buffer.from(single.buffer))).toBe(0);
    expect(all.length % 2).toBe(1);
  });

  it('F32 -> f16 conversion refuses values beyond the f16 range', () => {
    const input = new Uint8Array(Float32Array.of(1, 65504, -2.5, 0.1).buffer);
    const output = new Uint8Array(16);
    expect(convertChunk('f32-f16', input, output)).toBe(8);
    expect(convertChunk('f32-f16', new Uint8Array(Float32Array.of(1, 65536).buffer), output)).toBe(-1);
  });
});
