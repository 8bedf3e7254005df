/**
 * A Hugging Face Hub stand-in on 127.0.0.1 (random port) for tests: serves
 * /{owner}/{name}/resolve/{revision}/{file} (and /datasets/{owner}/{name}/...) with Range support, HF's error codes (404
 * EntryNotFound, 401 RepoNotFound / GatedRepo, 403 GatedRepo for a wrong token) and the app's
 * embedded layout /models/{name}/{file} (optionally with an SPA fallback: index.html for unknown
 * paths, as Vite's dev server answers). Faults (cut connections, 500s) are injected per file.
 * Answers CORS as huggingface.co does, so a page on another origin can read ranges and error codes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface HubRepo {
  files: Map<string, Uint8Array>;
  /** Requests need `Authorization: Bearer <token>`. */
  gatedToken?: string;
  revisions?: string[];
}

export interface Fault {
  file: string;
  /**
   * 'cut': send `afterBytes` of the body then destroy the socket; 'stall': send `afterBytes` then
   * nothing more, keeping the connection open; 'no-response': never answer; '500': answer 500;
   * 'ignore-range': answer 200 with the whole file.
   */
  kind: 'cut' | 'stall' | 'no-response' | '500' | 'ignore-range';
  afterBytes?: number;
  /** How many requests the fault applies to (default 1). */
  times?: number;
}

export interface RequestLog {
  /** GET, HEAD, or OPTIONS for a browser's CORS preflight. */
  method: string;
  path: string;
  range: string | null;
  hasAuth: boolean;
  status: number;
}

export interface HubServer {
  url: string;
  requests: RequestLog[];
  faults: Fault[];
  close(): Promise<void>;
}

/** What huggingface.co sends on /resolve/ responses (errors included): any origin, sizes and error codes readable. */
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Accept-Ranges, X-Linked-Size, X-Error-Code, X-Error-Message',
};

export async function startHubServer(
  repos: Record<string, HubRepo>,
  embedded: Record<string, Map<string, Uint8Array>> = {},
  options: { spaFallback?: boolean } = {},
): Promise<HubServer> {
  const requests: RequestLog[] = [];
  const faults: Fault[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const auth = req.headers.authorization ?? null;
    const log: RequestLog = { method: req.method ?? 'GET', path, range: (req.headers.range as string | undefined) ?? null, hasAuth: auth !== null, status: 0 };
    requests.push(log);
    for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
    if (req.method === 'OPTIONS') {
      log.status = 204;
      res.writeHead(204, { 'Access-Control-Allow-Headers': 'Authorization, Range', 'Access-Control-Allow-Methods': 'GET, HEAD' });
      return res.end();
    }
    const fail = (status: number, code?: string) => {
      log.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain', ...(code ? { 'X-Error-Code': code, 'X-Error-Message': code } : {}) });
      res.end(code ?? 'error');
    };

    let files: Map<string, Uint8Array>;
    let file: string;
    const embeddedMatch = /^\/models\/([^/]+)\/(.+)$/.exec(path);
    // Dataset repositories are keyed "datasets/owner/name".
    const hubMatch = /^\/((?:datasets\/)?[^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (embeddedMatch) {
      const model = embedded[embeddedMatch[1]!];
      if (!model) return fail(404);
      files = model;
      file = embeddedMatch[2]!;
    } else if (hubMatch) {
      const repo = repos[hubMatch[1]!];
      if (!repo) return fail(401, 'RepoNotFound');
      if (repo.gatedToken !== undefined) {
        if (auth === null) return fail(401, 'GatedRepo');
        if (auth !== `Bearer ${repo.gatedToken}`) return fail(403, 'GatedRepo');
      }
      if (!(repo.revisions ?? ['main']).includes(hubMatch[2]!)) return fail(404, 'RevisionNotFound');
      files = repo.files;
      file = hubMatch[3]!;
    } else {
      return fail(404);
    }
    const body = files.get(file);
    if (!body && embeddedMatch && options.spaFallback) {
      // What Vite's dev server and SPA hosts do: index.html, 200, for any unknown path.
      log.status = 200;
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<!doctype html><html><body>app</body></html>');
    }
    if (!body) return fail(404, 'EntryNotFound');

    const fault = faults.find((f) => f.file === file && (f.times ?? 1) > 0);
    if (fault) fault.times = (fault.times ?? 1) - 1;
    if (fault?.kind === '500') return fail(500);
    if (fault?.kind === 'no-response') return;

    const size = body.byteLength;
    let start = 0;
    let end = size; // exclusive
    let status = 200;
    const range = req.headers.range;
    if (range && fault?.kind !== 'ignore-range') {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= size) {
        log.status = 416;
        res.writeHead(416, { 'Content-Range': `bytes */${size}` });
        return res.end();
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]) + 1, size) : size;
      status = 206;
    }
    log.status = status;
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(end - start),
      'Accept-Ranges': 'bytes',
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    const slice = body.subarray(start, end);
    if (fault?.kind === 'stall') {
      res.write(slice.subarray(0, Math.min(fault.afterBytes ?? 0, slice.byteLength - 1)));
      return;
    }
    if (fault?.kind === 'cut') {
      const n = Math.min(fault.afterBytes ?? 0, slice.byteLength - 1);
      res.write(slice.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 10));
      return;
    }
    res.end(slice);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every file of a checkpoint folder (no sub-folders), as a repo's or an embedded model's files. */
export async function folderFiles(folder: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await readdir(folder)) files.set(name, new Uint8Array(await readFile(join(folder, name))));
  return files;
}

/** A minimal in-memory Cache Storage (Node has none). */
export function memoryCacheStorage(): CacheStorage {
  const stores = new Map<string, Map<string, { body: ArrayBuffer; headers: [string, string][] }>>();
  const makeCache = (m: Map<string, { body: ArrayBuffer; headers: [string, string][] }>) =>
    ({
      async match(url: RequestInfo) {
        const e = m.get(typeof url === 'string' ? url : url.url);
        return e ? new Response(e.body.slice(0), { headers: e.headers }) : undefined;
      },
      async put(url: RequestInfo, response: Response) {
        m.set(typeof url === 'string' ? url : url.url, { body: await response.arrayBuffer(), headers: [...response.headers] });
      },
      async keys() {
        return [...m.keys()].map((u) => new Request(u));
      },
    }) as unknown as Cache;
  return {
    async open(name: string) {
      if (!stores.has(name)) stores.set(name, new Map());
      return makeCache(stores.get(name)!);
    },
    async has(name: string) {
      return stores.has(name);
    },
    async delete(name: string) {
      return stores.delete(name);
    },
  } as unknown as CacheStorage;
}
