/**
 * Perplexity by the seed's protocol (METHOD.md): the evaluation text tokenized once, cut into
 * non-overlapping windows of T tokens, the remainder dropped; PPL = exp(mean NLL) over every
 * next-token prediction inside the windows. BOS mode 'first': BOS only at the very start of the
 * stream. 'every': the stream without its BOS cut into (T-1)-token chunks, each prefixed by BOS.
 */
import type { NllResult } from '../model/batch-forward';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';

/** Where BOS goes: only at the start of the stream (or document), or on every window. */
export type BosMode = 'first' | 'every';

export interface PerplexityProtocol {
  window: number;
  bos: BosMode;
  /** Windows per GPU batch. */
  batch?: number;
  /** Evaluate at most this many windows (the first ones). */
  maxWindows?: number;
}

export interface PerplexityResult {
  ppl: number;
  nll: number;
  windows: number;
  predictions: number;
  /** Full windows the text holds (more than `windows` when a window limit applied); absent in older records. */
  windowsAvailable?: number;
}

/** How many full windows the stream holds under protocol `p` (before any maxWindows limit). */
export function windowCount(stream: ArrayLike<number>, bosId: number, p: Pick<PerplexityProtocol, 'window' | 'bos'>): number {
  if (p.bos === 'first') return Math.floor(stream.length / p.window);
  const body = stream[0] === bosId ? 1 : 0;
  return Math.max(0, Math.floor((stream.length - body) / (p.window - 1)));
}

/** The windows of a token stream that starts with BOS (as the tokenizer encodes a document). */
export function evaluationWindows(stream: ArrayLike<number>, bosId: number, p: PerplexityProtocol): Uint32Array[] {
  const T = p.window;
  const windows: Uint32Array[] = [];
  if (p.bos === 'first') {
    for (let s = 0; s + T <= stream.length; s += T) windows.push(Uint32Array.from(Array.prototype.slice.call(stream, s, s + T) as number[]));
  } else {
    const body = stream[0] === bosId ? 1 : 0;
    for (let s = body; s + T - 1 <= stream.length; s += T - 1) {
      const w = new Uint32Array(T);
      w[0] = bosId;
      for (let i = 1; i < T; i++) w[i] = stream[s + i - 1]!;
      windows.push(w);
    }
  }
  return p.maxWindows ? windows.slice(0, p.maxWindows) : windows;
}

/**
 * The GPU batches perplexity runs the windows in: `batch` windows each, the last one shorter. Every
 * evaluation of a plan (plain or with a reused residual prefix) batches alike, so the sums agree.
 */
export function windowBatches(windows: Uint32Array[], p: Pick<PerplexityProtocol, 'window' | 'batch'>): { ids: Uint32Array; B: number; end: number }[] {
  const T = p.window;
  if (windows.length === 0) throw new RangeError(`the text has fewer than ${T} tokens: no full ${T}-token window to evaluate`);
  const B = Math.max(1, Math.min(p.batch ?? 8, windows.length));
  const out = [];
  for (let w0 = 0; w0 < windows.length; w0 += B) {
    const group = windows.slice(w0, w0 + B);
    const ids = new Uint32Array(group.length * T);
    group.forEach((w, i) => ids.set(w, i * T));
    out.push({ ids, B: group.length, end: w0 + group.length });
  }
  return out;
}

/** Accumulates per-sequence NLL sums, batch after batch, into a PerplexityResult. */
export class NllTotal {
  private nll = 0;
  private predictions = 0;
  private windows = 0;

  add(r: NllResult): void {
    for (let i = 0; i < r.sums.length; i++) {
      this.nll += r.sums[i]!;
      this.predictions += r.counts[i]!;
    }
    this.windows += r.sums.length;
  }

  result(): PerplexityResult {
    return { ppl: Math.exp(this.nll / this.predictions), nll: this.nll / this.predictions, windows: this.windows, predictions: this.predictions };
  }
}

/** Per-sequence NLL sums of [B, T] ids: the model's own batched forward, or one with adapters (healing). */
export type NllOf = (ids: Uint32Array, B: number, T: number) => Promise<NllResult>;

export async function perplexityOf(
  model: LlamaModel,
  windows: Uint32Array[],
  plan: BlockPlan,
  p: Pick<PerplexityProtocol, 'window' | 'batch'>,
  o: JobOptions = {},
  nllOf: NllOf = (ids, B, T) => model.nll(ids, B, T, plan),
): Promise<PerplexityResult> {
  const total = new NllTotal();
  for (const b of windowBatches(windows, p)) {
    checkCancelled(o.signal);
    total.add(await nllOf(b.ids, b.B, p.window));
    o.onProgress?.(b.end, windows.length, 'windows');
  }
  return total.result();
}

/** exp(mean NLL) from per-sequence sums and counts. */
export function perplexity(sums: ArrayLike<number>, counts: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < sums.length; i++) {
    s += sums[i]!;
    c += counts[i]!;
  }
  return Math.exp(s / c);
}
