/**
 * HTTP sources: the app's embedded model folder and the Hugging Face Hub. Tensor bytes and
 * headers are fetched with Range requests; an interrupted download resumes from the last byte
 * received (Range again) where the server allows it, and restarts and skips otherwise.
 */
import { AccessDeniedError, CheckpointError, FileMissingError, LoadCancelledError, NetworkError } from './errors';
import { checkFileName, collect, isAbort, throwIfAborted, type CheckpointSource } from './source';

export const DEFAULT_HUB_HOST = 'https://huggingface.co';

export interface HttpSourceOptions {
  name: string;
  cacheKey: string;
  /** URL of a file relative to the checkpoint root. */
  url: (file: string) => string;
  /** Bearer token sent with every request; kept in a private field, never logged or exported. */
  token?: string | undefined;
  fetch?: typeof fetch;
  /** Attempts after the first for one read (network errors, 5xx, 429, cut connections). Default 4. */
  retries?: number;
  /** First retry delay; doubles per attempt. Default 250 ms. */
  retryDelayMs?: number;
  /** A request with no response headers, or a body with no new bytes, for this long has stalled. Default 30 s. */
  stallTimeoutMs?: number;
}

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

class RetryableError extends Error {}
/** No bytes for stallTimeoutMs: retried once on a fresh connection; a second stall gives up. */
class StallError extends RetryableError {}

export class HttpSource implements CheckpointSource {
  readonly name: string;
  readonly cacheKey: string;
  readonly #token: string | undefined;
  readonly #url: (file: string) => string;
  readonly #fetch: typeof fetch;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #stallMs: number;
  readonly #sizes = new Map<string, number>();

  constructor(options: HttpSourceOptions) {
    this.name = options.name;
    this.cacheKey = options.cacheKey;
    this.#token = checkToken(options.token);
    this.#url = options.url;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#retries = options.retries ?? 4;
    this.#retryDelayMs = options.retryDelayMs ?? 250;
    this.#stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  }

  /** Whether requests carry a token (the token itself is not readable). */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  toJSON(): { name: string; cacheKey: string } {
    return { name: this.name, cacheKey: this.cacheKey };
  }

  async size(file: string, signal?: AbortSignal): Promise<number> {
    const known = this.#sizes.get(file);
    if (known !== undefined) return known;
    return this.#withRetries(file, signal, async () => {
      const response = await this.#request(file, signal, 'bytes=0-0');
      if (response.status === 416) {
        await cancelBody(response);
        const total = totalFromContentRange(response.headers.get('content-range'));
        return this.#remember(file, total ?? 0);
      }
      await this.#check(response, file);
      const total =
        totalFromContentRange(response.headers.get('content-range')) ??
        numberHeader(response, 'x-linked-size') ??
        (response.status === 200 ? numberHeader(response, 'content-length') : null);
      await cancelBody(response);
      if (total === null) throw new NetworkError(this.name, file, 'the server did not report the file size');
      return this.#remember(file, total);
    });
  }

  async exists(file: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.size(file, signal);
      return true;
    } catch (e) {
      if (e instanceof FileMissingError) return false;
      throw e;
    }
  }

  async readText(file: string, signal?: AbortSignal): Promise<string> {
    return this.#withRetries(file, signal, async () => {
      const response = await this.#request(file, signal);
      await this.#check(response, file);
      if (!response.body) return '';
      const reader = response.body.getReader();
      const pieces: Uint8Array[] = [];
      let length = 0;
      try {
        for (;;) {
          const { done, value } = await this.#read(reader, file, length);
          if (done) break;
          pieces.push(value);
          length += value.byteLength;
        }
      } catch (e) {
        if (isAbort(e, signal)) throw new LoadCancelledError();
        throw e instanceof RetryableError ? e : new RetryableError(`body interrupted: ${(e as Error).message}`);
      } finally {
        reader.cancel().catch(() => undefined);
      }
      const bytes = new Uint8Array(length);
      pieces.reduce((at, p) => (bytes.set(p, at), at + p.byteLength), 0);
      return new TextDecoder().decode(bytes);
    });
  }

  async readRange(file: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    return collect(this.stream(file, start, end, signal), end - start);
  }

  async *stream(file: string, start: number, end: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    let pos = start;
    let failures = 0;
    let stalls = 0; // not reset by progress: a server that drips a few bytes per stall still gives up
    while (pos < end) {
      throwIfAborted(signal);
      let response: Response;
      try {
        response = await this.#request(file, signal, `bytes=${pos}-${end - 1}`);
        await this.#check(response, file);
      } catch (e) {
        failures = await this.#retryOrThrow(e, file, signal, failures);
        continue;
      }
      // 206: the bytes from pos. 200: the server ignored Range: skip to pos.
      let skip = 0;
      if (response.status === 206) {
        const range = response.headers.get('content-range');
        const total = totalFromContentRange(range);
        if (total !== null) this.#sizes.set(file, total);
        const first = range ? /^bytes (\d+)-/.exec(range) : null;
        if (first && Number(first[1]) !== pos) {
          await cancelBody(response);
          throw new NetworkError(this.name, file, `asked for bytes from ${pos}, the server sent ${range}`);
        }
      } else {
        skip = pos;
      }
      if (!response.body) throw new NetworkError(this.name, file, 'response has no body');
      const reader = response.body.getReader();
      let progressed = false;
      try {
        while (pos < end) {
          const { done, value } = await this.#read(reader, file, pos);
          if (done) break;
          let piece = value;
          if (skip > 0) {
            const n = Math.min(skip, piece.byteLength);
            skip -= n;
            piece = piece.subarray(n);
          }
          if (piece.byteLength > end - pos) piece = piece.subarray(0, end - pos);
          if (piece.byteLength === 0) continue;
          pos += piece.byteLength;
          progressed = true;
          yield piece;
        }
        if (pos < end) throw new RetryableError(`connection closed at byte ${pos} of ${end}`);
      } catch (e) {
        if (progressed) failures = 0; // a resumed transfer that moved forward earns fresh retries
        if (e instanceof StallError && ++stalls >= 2) throw new NetworkError(this.name, file, `${e.message} (after ${stalls} attempts)`);
        const retryable = e instanceof CheckpointError || e instanceof RetryableError ? e : new RetryableError(`download interrupted: ${(e as Error).message}`);
        failures = await this.#retryOrThrow(retryable, file, signal, failures);
      } finally {
        reader.cancel().catch(() => undefined);
      }
    }
  }

  /** One body read, or a StallError when no bytes come for stallTimeoutMs. */
  async #read(reader: ReadableStreamDefaultReader<Uint8Array>, file: string, at: number): Promise<ReadableStreamReadResult<Uint8Array>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StallError(this.#stallMessage(`at byte ${at} of ${file}`))), this.#stallMs);
    });
    try {
      return await Promise.race([reader.read(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  #stallMessage(where: string): string {
    return `no data from the server for ${formatSeconds(this.#stallMs)} (stalled ${where})`;
  }

  #remember(file: string, size: number): number {
    this.#sizes.set(file, size);
    return size;
  }

  async #request(file: string, signal?: AbortSignal, range?: string): Promise<Response> {
    checkFileName(file);
    const headers: Record<string, string> = {};
    if (range) headers.Range = range;
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    // Aborted by the caller (for the whole response), or by the stall timer while no headers came.
    const stall = new AbortController();
    const timer = setTimeout(() => stall.abort(), this.#stallMs);
    try {
      const both = signal ? AbortSignal.any([signal, stall.signal]) : stall.signal;
      return await this.#fetch(this.#url(file), { headers, signal: both, cache: 'no-store' } as RequestInit);
    } catch (e) {
      if (signal?.aborted) throw new LoadCancelledError();
      if (stall.signal.aborted) throw new StallError(this.#stallMessage(`before the response to ${file}`));
      throw new RetryableError(`network error: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Maps HTTP failures to errors; 5xx and 429 become retryable. */
  async #check(response: Response, file: string): Promise<void> {
    if (response.ok) {
      // Dev servers and static hosts with an SPA fallback answer a missing file with index.html.
      if (/^text\/html/i.test(response.headers.get('content-type') ?? '') && !/\.html?$/i.test(file)) {
        await cancelBody(response);
        throw new FileMissingError(this.name, file);
      }
      return;
    }
    const status = response.status;
    const code = response.headers.get('x-error-code');
    const message = response.headers.get('x-error-message');
    await cancelBody(response);
    if (status === 404 && code !== 'RepoNotFound' && code !== 'RevisionNotFound') throw new FileMissingError(this.name, file);
    if (status === 401 || status === 403 || status === 404) {
      let detail: string;
      if (code === 'GatedRepo') {
        detail = this.#token
          ? "the repository is gated and this token's account has no access yet: accept the conditions on the model page"
          : 'the repository is gated: accept its conditions on the Hub, then provide an access token';
      } else if (code === 'RepoNotFound') {
        detail = this.#token ? 'repository not found, or this token cannot read it' : 'repository not found, or private (provide an access token)';
      } else if (code === 'RevisionNotFound') {
        detail = 'revision not found';
      } else {
        detail = this.#token ? 'the access token was rejected or does not grant access' : 'this repository needs an access token (gated or private)';
      }
      throw new AccessDeniedError(this.name, status, detail);
    }
    if (status === 429 || status >= 500) throw new RetryableError(`HTTP ${status}${message ? `: ${message}` : ''}`);
    throw new NetworkError(this.name, file, `HTTP ${status}${message ? `: ${message}` : ''}`);
  }

  async #retryOrThrow(e: unknown, file: string, signal: AbortSignal | undefined, failures: number): Promise<number> {
    if (isAbort(e, signal)) throw new LoadCancelledError();
    if (!(e instanceof RetryableError)) throw e;
    if (e instanceof StallError && failures >= 1) throw new NetworkError(this.name, file, `${e.message} (after ${failures + 1} attempts)`);
    if (failures >= this.#retries) throw new NetworkError(this.name, file, `${e.message} (after ${failures + 1} attempts)`);
    await sleep(this.#retryDelayMs * 2 ** failures, signal);
    return failures + 1;
  }

  async #withRetries<T>(file: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; ) {
      throwIfAborted(signal);
      try {
        return await fn();
      } catch (e) {
        failures = await this.#retryOrThrow(e, file, signal, failures);
      }
    }
  }
}

/** The embedded model the app ships in public/models/<name>/ (served at <base>models/<name>/). */
export function embeddedSource(name: string, options: { baseUrl?: string; fetch?: typeof fetch } = {}): HttpSource {
  checkFileName(name);
  const base = options.baseUrl ?? defaultBase();
  const root = new URL(`models/${encodeURIComponent(name)}/`, base);
  return new HttpSource({
    name: `embedded:${name}`,
    cacheKey: `embedded/${name}`,
    url: (file) => new URL(encodePath(file), root).href,
    fetch: options.fetch,
  });
}

export interface HubOptions {
  /** "owner/name" (or a bare legacy name). */
  modelId: string;
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** Hub host, default https://huggingface.co (a mirror or a test server). */
  host?: string;
  /** Access token for gated/private repositories; memory only. */
  token?: string;
  /** A dataset repository (files under /datasets/{id}/resolve/...) instead of a model. */
  repoType?: 'model' | 'dataset';
  fetch?: typeof fetch;
  retries?: number;
  retryDelayMs?: number;
  stallTimeoutMs?: number;
}

/** Whether `host` can serve as a Hub host: an http(s) URL (huggingface.co, a mirror, a test server). */
export function isHubHost(host: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(host).protocol);
  } catch {
    return false;
  }
}

export function hubSource(options: HubOptions): HttpSource {
  const { modelId } = options;
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(modelId) || modelId.includes('..')) {
    throw new CheckpointError(`invalid Hub model id ${JSON.stringify(modelId)}: expected "owner/name"`, 'invalid-model-id');
  }
  if (options.host && !isHubHost(options.host)) {
    // A mistyped host is echoed to help, unless it may carry a credential ("user:token@...").
    const shown = options.host.includes('@') ? '' : ` ${JSON.stringify(options.host)}`;
    throw new CheckpointError(`invalid Hub host${shown}: expected an http(s) URL`, 'invalid-hub-host');
  }
  if (options.host) {
    const url = new URL(options.host);
    if (url.username || url.password) {
      throw new CheckpointError('invalid Hub host: credentials in the URL are not supported (pass the token as HF_TOKEN or in the token field)', 'invalid-hub-host');
    }
  }
  const revision = options.revision || 'main';
  const host = (options.host || DEFAULT_HUB_HOST).replace(/\/+$/, '');
  const repo = options.repoType === 'dataset' ? `datasets/${modelId}` : modelId;
  return new HttpSource({
    name: `hub:${repo}@${revision}`,
    cacheKey: `hub/${host}/${repo}@${revision}`,
    url: (file) => `${host}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`,
    token: options.token,
    fetch: options.fetch,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    stallTimeoutMs: options.stallTimeoutMs,
  });
}

/**
 * The token trimmed of surrounding whitespace (a pasted or `cat`-ed token often ends in a newline);
 * one with inner whitespace or control characters cannot go into a header and is refused without
 * being shown (fetch's own error would print the header value).
 */
function checkToken(token: string | undefined): string | undefined {
  const t = token?.trim();
  if (!t) return undefined;
  if (!/^[\x21-\x7e]+$/.test(t)) {
    throw new CheckpointError('the access token contains spaces, line breaks or other characters not allowed in an HTTP header: check HF_TOKEN or the token field', 'invalid-token');
  }
  return t;
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function defaultBase(): string {
  const base = (import.meta.env?.BASE_URL as string | undefined) ?? '/';
  const origin = (globalThis as { location?: { href: string } }).location?.href;
  if (!origin) throw new CheckpointError('embeddedSource needs options.baseUrl outside the browser', 'invalid-source');
  return new URL(base, origin).href;
}

function encodePath(file: string): string {
  return checkFileName(file).split('/').map(encodeURIComponent).join('/');
}

function totalFromContentRange(value: string | null): number | null {
  const m = value ? /\/(\d+)\s*$/.exec(value) : null;
  return m ? Number(m[1]) : null;
}

function numberHeader(response: Response, name: string): number | null {
  const v = response.headers.get(name);
  return v !== null && /^\d+$/.test(v) ? Number(v) : null;
}

async function cancelBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    /* already closed */
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new LoadCancelledError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LoadCancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
