/**
 * Browser cache of downloaded checkpoint files in Cache Storage. Wraps any source: small files
 * are cached whole, weight files in fixed blocks (16 MiB), so a second load of the same model
 * reads from the cache and memory stays bounded by one block. A no-op where Cache Storage does
 * not exist (Node, insecure origins). Keys use the source's cacheKey, never a token.
 * A moving revision ("main") is cached as first seen: clear the cache to pick up new commits.
 */
import { FileMissingError, TruncatedFileError } from './errors';
import { checkFileName, collect, type CheckpointSource } from './source';

export const DEFAULT_CACHE_NAME = 'depth-pruning-lab-checkpoints-v1';
export const DEFAULT_BLOCK_BYTES = 16 << 20;

export interface CacheOptions {
  cacheName?: string;
  blockBytes?: number;
  /** The CacheStorage to use (default: globalThis.caches when present). */
  caches?: CacheStorage;
}

function storage(options: CacheOptions): CacheStorage | null {
  return options.caches ?? (typeof caches !== 'undefined' ? caches : null);
}

/** `inner` with a Cache Storage layer, or `inner` itself where Cache Storage is unavailable. */
export function cachedSource(inner: CheckpointSource, options: CacheOptions = {}): CheckpointSource {
  const store = storage(options);
  if (!store) return inner;
  const name = options.cacheName ?? DEFAULT_CACHE_NAME;
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  const base = `https://checkpoint-cache.invalid/${encodeURIComponent(inner.cacheKey)}/`;
  const key = (file: string, suffix = '') => `${base}${checkFileName(file).split('/').map(encodeURIComponent).join('/')}${suffix}`;
  let opened: Promise<Cache> | undefined;
  const cache = () => (opened ??= store.open(name));
  const put = async (url: string, body: BodyInit, bytes: number) => {
    try {
      await (await cache()).put(url, new Response(body, { headers: { 'x-bytes': String(bytes) } }));
    } catch {
      /* quota exceeded or storage unavailable: the cache is best effort */
    }
  };
  const match = async (url: string) => {
    try {
      return (await (await cache()).match(url)) ?? null;
    } catch {
      return null;
    }
  };

  /** File sizes, and absent files as -1, so a cached model opens offline without probing. */
  const size = async (file: string, signal?: AbortSignal) => {
    const hit = await match(key(file, '?size'));
    let n = hit ? Number(await hit.text()) : null;
    if (n === null) {
      try {
        n = await inner.size(file, signal);
      } catch (e) {
        if (!(e instanceof FileMissingError)) throw e;
        n = -1;
      }
      await put(key(file, '?size'), String(n), 0);
    }
    if (n < 0) throw new FileMissingError(inner.name, file);
    return n;
  };

  async function* stream(file: string, start: number, end: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (start >= end) return;
    const fileSize = await size(file, signal);
    if (end > fileSize) throw new TruncatedFileError(file, `${fileSize} bytes, a read needs bytes up to ${end}`);
    for (let b = Math.floor(start / blockBytes); b * blockBytes < end; b++) {
      const blockStart = b * blockBytes;
      const blockEnd = Math.min(blockStart + blockBytes, fileSize);
      const url = key(file, `?block=${b}&bytes=${blockBytes}`);
      const hit = await match(url);
      let block: Uint8Array;
      if (hit) {
        block = new Uint8Array(await hit.arrayBuffer());
      } else {
        block = await collect(inner.stream(file, blockStart, blockEnd, signal), blockEnd - blockStart);
        if (block.byteLength === blockEnd - blockStart) await put(url, block as Uint8Array<ArrayBuffer>, block.byteLength);
      }
      const from = Math.max(start, blockStart) - blockStart;
      const to = Math.min(end, blockEnd) - blockStart;
      if (to > from) yield block.subarray(from, to);
    }
  }

  return {
    name: inner.name,
    cacheKey: inner.cacheKey,
    ...(inner.list ? { list: (signal?: AbortSignal) => inner.list!(signal) } : {}),
    size,
    async exists(file, signal) {
      try {
        await size(file, signal); // cached, so a repeated probe costs no request
        return true;
      } catch (e) {
        if (e instanceof FileMissingError) return false;
        throw e;
      }
    },
    async readText(file, signal) {
      const url = key(file);
      const hit = await match(url);
      if (hit) return hit.text();
      const text = await inner.readText(file, signal);
      await put(url, text, new TextEncoder().encode(text).byteLength);
      return text;
    },
    readRange: (file, start, end, signal) => collect(stream(file, start, end, signal), end - start),
    stream,
  };
}

/** Bytes and entries held by the checkpoint cache (0 where Cache Storage is unavailable). */
export async function checkpointCacheUsage(options: CacheOptions = {}): Promise<{ bytes: number; entries: number }> {
  const store = storage(options);
  if (!store) return { bytes: 0, entries: 0 };
  const name = options.cacheName ?? DEFAULT_CACHE_NAME;
  if (!(await store.has(name))) return { bytes: 0, entries: 0 };
  const cache = await store.open(name);
  let bytes = 0;
  const keys = await cache.keys();
  for (const request of keys) {
    const response = await cache.match(request);
    bytes += Number(response?.headers.get('x-bytes') ?? 0);
  }
  return { bytes, entries: keys.length };
}

/** Deletes every cached checkpoint file. Returns whether there was a cache to delete. */
export async function clearCheckpointCache(options: CacheOptions = {}): Promise<boolean> {
  const store = storage(options);
  if (!store) return false;
  return store.delete(options.cacheName ?? DEFAULT_CACHE_NAME);
}
