/// <reference lib="webworker" />
/**
 * The browser's engine host: owns the GPU device and the LabEngine, answers the UI's requests
 * (src/browser/worker-client.ts) with plain data, streams progress and tokens as events, and aborts a
 * job on `cancel`.
 */
import { acquireDevice } from '../gpu/device';
import { GpuError } from '../gpu/errors';
import { BlobSink } from '../export/blob-sink';
import { openSource } from '../io/open';
import { EMBEDDED_TEXTS } from '../app/embedded';
import { LabEngine, type EngineHost } from '../app/lab';
import type { EngineReply, ReplyEnvelope, RequestEnvelope } from '../app/protocol';
import { idbScoreStore } from './score-cache-idb';

declare const self: DedicatedWorkerGlobalScope;

const base = new URL('/', self.location.href).href;

const browserHost: EngineHost = {
  source(spec) {
    if (spec.kind === 'folder') throw new Error('folder paths are only supported by the command line; pick or drop the folder instead');
    return openSource(spec.kind === 'embedded' ? { ...spec, baseUrl: base } : spec);
  },
  async embeddedText(name) {
    const response = await fetch(new URL(`data/${EMBEDDED_TEXTS[name]}`, base));
    if (!response.ok) throw new Error(`embedded ${name} text: HTTP ${response.status}`);
    return response.text();
  },
  async embeddedFile(path, signal) {
    const response = await fetch(new URL(`data/${path}`, base), { signal: signal ?? null });
    if (!response.ok) throw new Error(`embedded file ${path}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  },
  exportSink: () => new BlobSink(),
  scoreStore: idbScoreStore(),
};

let engine: Promise<LabEngine> | undefined;
const jobs = new Map<number, AbortController>();

function post(envelope: ReplyEnvelope): void {
  self.postMessage(envelope);
}

function getEngine(): Promise<LabEngine> {
  engine ??= acquireDevice(navigator.gpu).then((gpu) => {
    void gpu.lost.then((info) => {
      engine = undefined;
      post({ id: 0, event: { type: 'device-lost', message: info.message || String(info.reason) } });
    });
    return new LabEngine(gpu, browserHost);
  });
  engine.catch(() => (engine = undefined));
  return engine;
}

self.onmessage = async (e: MessageEvent<RequestEnvelope>) => {
  const { id, request } = e.data;
  if (request.type === 'cancel') {
    jobs.get(request.job)?.abort();
    post({ id, reply: { type: 'ok' } });
    return;
  }
  const controller = new AbortController();
  jobs.set(id, controller);
  let reply: EngineReply;
  try {
    const lab = await getEngine();
    reply = await lab.handle(request, {
      signal: controller.signal,
      progress: (p) => post({ id: 0, event: { type: 'progress', job: id, ...p } }),
      token: (text, index, elapsedMs) => post({ id: 0, event: { type: 'token', job: id, text, index, elapsedMs } }),
      healState: (state, loss) => post({ id: 0, event: { type: 'heal-state', job: id, state, loss } }),
    });
  } catch (err) {
    if (controller.signal.aborted) reply = { type: 'cancelled' };
    else {
      const kind = err instanceof GpuError ? err.kind : err instanceof Error ? err.name : 'internal';
      reply = { type: 'error', message: err instanceof Error ? err.message : String(err), kind };
    }
  } finally {
    jobs.delete(id);
  }
  post({ id, reply });
};
