import type { EngineEvent, EngineReply, EngineRequest, ReplyEnvelope } from '../app/protocol';

/** Thrown on the UI side when the engine replies with an error (or the job was cancelled). */
export class EngineError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'EngineError';
  }
}

type Pending = { resolve: (r: EngineReply) => void; reject: (e: Error) => void };
type Reply<T extends EngineReply['type']> = Extract<EngineReply, { type: T }>;

/** A started engine job: its id (for cancel and for matching progress events) and its result. */
export interface Job<T extends EngineReply['type']> {
  id: number;
  result: Promise<Reply<T>>;
}

/** Promise-based access to the engine worker; one instance per page. */
export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.worker.onmessage = (e: MessageEvent<ReplyEnvelope>) => this.receive(e.data);
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new EngineError(`engine worker failed: ${e.message}`, 'internal'));
      this.pending.clear();
    };
  }

  /** Starts a job; `result` rejects with EngineError on an error reply or a cancellation. */
  start<T extends EngineReply['type']>(request: EngineRequest, expect: T): Job<T> {
    const id = this.nextId++;
    const result = new Promise<Reply<T>>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (reply) => {
          if (reply.type === 'error') reject(new EngineError(reply.message, reply.kind));
          else if (reply.type === 'cancelled') reject(new EngineError('cancelled', 'cancelled'));
          else if (reply.type !== expect) reject(new EngineError(`expected ${expect}, got ${reply.type}`, 'internal'));
          else resolve(reply as Reply<T>);
        },
        reject,
      });
      this.worker.postMessage({ id, request });
    });
    return { id, result };
  }

  request<T extends EngineReply['type']>(request: EngineRequest, expect: T): Promise<Reply<T>> {
    return this.start(request, expect).result;
  }

  cancel(job: number): void {
    void this.request({ type: 'cancel', job }, 'ok');
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
