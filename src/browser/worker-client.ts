import { REPLY_TYPE, type ArgsOf, type EngineEvent, type EngineReply, type JobName, type ModelSourceSpec, type ReplyEnvelope, type ReplyOf, type RequestOf, type WeightChoice } from '../app/protocol';

/** Thrown on the UI side when the engine replies with an error (or the job was cancelled). */
export class EngineError extends Error {
  constructor(message: string, readonly kind: string) {
    super(message);
    this.name = 'EngineError';
  }
}

type Pending = { resolve: (r: EngineReply) => void; reject: (e: Error) => void };

/** A started engine job: its id (for cancel and for matching progress events) and its result. */
export interface Job<K extends JobName> {
  id: number;
  result: Promise<ReplyOf<K>>;
}

/**
 * Promise-based access to the engine worker; one instance per page. One typed method per job;
 * each result rejects with EngineError on an error reply or a cancellation.
 */
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

  /** Acquires the GPU device (again after a loss). */
  init(): Promise<ReplyOf<'init'>> {
    return this.start('init', {}).result;
  }

  load(source: ModelSourceSpec, weights?: WeightChoice): Job<'load'> {
    return this.start('load', weights ? { source, weights } : { source });
  }

  /** The memory plan of a model before loading it. */
  plan(args: ArgsOf<'plan'>): Job<'plan'> {
    return this.start('plan', args);
  }

  score(args: ArgsOf<'score'>): Job<'score'> {
    return this.start('score', args);
  }

  perplexity(args: ArgsOf<'perplexity'>): Job<'perplexity'> {
    return this.start('perplexity', args);
  }

  /** Streams its text as 'token' events of the job's id. */
  generate(args: ArgsOf<'generate'>): Job<'generate'> {
    return this.start('generate', args);
  }

  benchmark(args: ArgsOf<'benchmark'>): Job<'benchmark'> {
    return this.start('benchmark', args);
  }

  /** Which weight formats a comparison can load beside the loaded model. */
  comparePlan(args: ArgsOf<'compare-plan'>): Job<'compare-plan'> {
    return this.start('compare-plan', args);
  }

  compareFormats(args: ArgsOf<'compare-formats'>): Job<'compare-formats'> {
    return this.start('compare-formats', args);
  }

  exportCheckpoint(args: ArgsOf<'export-checkpoint'>): Job<'export-checkpoint'> {
    return this.start('export-checkpoint', args);
  }

  tasks(args: ArgsOf<'tasks'>): Job<'tasks'> {
    return this.start('tasks', args);
  }

  /** Streams the trainer state after each optimizer step as 'heal-state' events of the job's id. */
  heal(args: ArgsOf<'heal'>): Job<'heal'> {
    return this.start('heal', args);
  }

  sweep(args: ArgsOf<'sweep'>): Job<'sweep'> {
    return this.start('sweep', args);
  }

  cancel(job: number): void {
    void this.start('cancel', { job }).result;
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private start<K extends JobName>(name: K, args: ArgsOf<K>): Job<K> {
    const id = this.nextId++;
    const expect = REPLY_TYPE[name];
    const request = { ...args, type: name } as RequestOf<K>;
    const result = new Promise<ReplyOf<K>>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (reply) => {
          if (reply.type === 'error') reject(new EngineError(reply.message, reply.kind));
          else if (reply.type === 'cancelled') reject(new EngineError('cancelled', 'cancelled'));
          else if (reply.type !== expect) reject(new EngineError(`expected ${expect}, got ${reply.type}`, 'internal'));
          else resolve(reply as ReplyOf<K>);
        },
        reject,
      });
      this.worker.postMessage({ id, request });
    });
    return { id, result };
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
