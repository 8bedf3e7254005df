import type { EngineEvent, EngineReply, EngineRequest, ReplyEnvelope } from './protocol';

/** Thrown on the UI side when the engine replies with an error. */
export class EngineError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'EngineError';
  }
}

type Pending = { resolve: (r: EngineReply) => void; reject: (e: Error) => void };

/** Promise-based access to the engine worker; one instance per page. */
export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();

  constructor() {
    this.worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.worker.onmessage = (e: MessageEvent<ReplyEnvelope>) => this.receive(e.data);
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new EngineError(`engine worker failed: ${e.message}`, 'internal'));
      this.pending.clear();
    };
  }

  request<T extends EngineReply['type']>(request: EngineRequest, expect: T): Promise<Extract<EngineReply, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (reply) => {
          if (reply.type === 'error') reject(new EngineError(reply.message, reply.kind));
          else if (reply.type !== expect) reject(new EngineError(`expected ${expect}, got ${reply.type}`, 'internal'));
          else resolve(reply as Extract<EngineReply, { type: T }>);
        },
        reject,
      });
      this.worker.postMessage({ id, request });
    });
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(envelope: ReplyEnvelope): void {
    if ('event' in envelope) {
      for (const l of this.listeners) l(envelope.event);
      return;
    }
    const p = this.pending.get(envelope.id);
    if (!p) return;
    this.pending.delete(envelope.id);
    p.resolve(envelope.reply);
  }
}
