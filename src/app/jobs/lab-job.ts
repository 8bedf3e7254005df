/** The shape of one engine job (./score.ts, ./perplexity.ts, ...), run by LabEngine.handle. */
import type { TrainerState } from '../../heal/train';
import type { JobOptions } from '../../util/job';
import type { LabEngine } from '../lab';
import type { JobName, ReplyOf, RequestOf } from '../protocol';

export type EventSink = (e: { done: number; total: number; what: string; bytes?: { done: number; total: number; rate: number } }) => void;

/** How a running job reports back: progress events, streamed tokens, and its cancellation signal. */
export interface JobContext {
  signal: AbortSignal;
  progress: EventSink;
  token?: (text: string, index: number, elapsedMs: number) => void;
  /** A heal job's trainer state after each optimizer step. */
  healState?: (state: TrainerState, loss: number) => void;
  /** `signal` and `progress` in the form the engine's computations take. */
  options: JobOptions;
}

export interface LabJob<K extends JobName> {
  /** The block plans the request names: the engine checks them against the loaded model once, before `run`. */
  plans?(request: RequestOf<K>): readonly (readonly number[])[];
  run(lab: LabEngine, request: RequestOf<K>, ctx: JobContext): Promise<ReplyOf<K>>;
}
