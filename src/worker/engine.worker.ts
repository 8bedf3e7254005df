/// <reference lib="webworker" />
/**
 * The engine behind the UI: owns the GPU device and everything on it. Receives requests
 * from src/worker/client.ts and replies with plain data.
 */
import { acquireDevice, type GpuContext } from '../gpu/device';
import { GpuError } from '../gpu/errors';
import type { EngineReply, EngineRequest, ReplyEnvelope, RequestEnvelope } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

let gpu: GpuContext | undefined;

async function handle(request: EngineRequest): Promise<EngineReply> {
  switch (request.type) {
    case 'init': {
      gpu ??= await acquireDevice(navigator.gpu);
      const ctx = gpu;
      void ctx.lost.then((info) => {
        if (gpu === ctx) gpu = undefined;
        post({ id: 0, event: { type: 'device-lost', message: info.message || String(info.reason) } });
      });
      return { type: 'ready', adapter: ctx.adapter };
    }
  }
}

function post(envelope: ReplyEnvelope): void {
  self.postMessage(envelope);
}

self.onmessage = async (e: MessageEvent<RequestEnvelope>) => {
  const { id, request } = e.data;
  try {
    post({ id, reply: await handle(request) });
  } catch (err) {
    const kind = err instanceof GpuError ? err.kind : 'internal';
    post({ id, reply: { type: 'error', message: err instanceof Error ? err.message : String(err), kind } });
  }
};
