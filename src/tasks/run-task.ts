/**
 * Runs a task's items on the GPU and aggregates lm-eval's metrics. Tokenization follows the seed's
 * `hf-causal-experimental`: context and continuation encoded apart without special tokens, an empty
 * context replaced by EOS, the continuation's leading whitespace stripped where the task says so.
 * Requests of an item that share a context (consecutive, same string) run it once.
 */
import type { TextTokenizer } from '../io/tokenizer';
import type { BlockPlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';
import type { ChoiceForward, ContextGroup } from './choice-forward';
import { meanStderr, scoreItem, type TaskMetrics } from './metrics';
import { TaskDataError, type MetricName, type TaskItem } from './types';

/** Items queued between two read-backs. */
const ITEMS_PER_READBACK = 32;

export interface TokenizedItem {
  groups: ContextGroup[];
  /** Tokens of the contexts (each once) plus the continuations: what lm-eval scores. */
  tokens: number;
  longest: number;
}

export function tokenizeItem(tok: TextTokenizer, item: TaskItem, lstrip: boolean, where: string): TokenizedItem {
  const eos = tok.eosIds[0];
  const groups: { contextText: string; group: { context: number[]; continuations: number[][] } }[] = [];
  let tokens = 0;
  let longest = 0;
  for (const r of item.requests) {
    let last = groups[groups.length - 1];
    if (!last || last.contextText !== r.context) {
      const context = r.context === '' ? (eos === undefined ? [] : [eos]) : tok.encode(r.context, { addSpecialTokens: false });
      if (context.length === 0) throw new TaskDataError(`${where}: the context is empty and the tokenizer has no EOS to stand for it`);
      last = { contextText: r.context, group: { context, continuations: [] } };
      groups.push(last);
      tokens += context.length;
    }
    const cont = tok.encode(lstrip ? r.continuation.trimStart() : r.continuation, { addSpecialTokens: false });
    if (cont.length === 0) throw new TaskDataError(`${where}: a choice tokenizes to nothing`);
    last.group.continuations.push(cont);
    tokens += cont.length;
    longest = Math.max(longest, last.group.context.length + cont.length - 1);
  }
  return { groups: groups.map((g) => g.group), tokens, longest };
}

export interface TaskRun {
  /** Per item, each choice's log-likelihood. */
  logLikelihoods: number[][];
  /** Per item and metric, 1 when the item is answered right. */
  correct: Record<MetricName, number>[];
  metrics: TaskMetrics;
  /** Tokens lm-eval scores (contexts once + continuations) and tokens the GPU ran. */
  tokens: number;
  tokensRun: number;
  seconds: number;
}

export interface TaskRunOptions extends JobOptions {
  plan: BlockPlan;
  lstripContinuation: boolean;
  metrics: readonly MetricName[];
  /** Labels rows in errors ("boolq row 12"). */
  label: string;
}

export interface ScoredTokens {
  logLikelihoods: number[][];
  tokens: number;
  tokensRun: number;
}

/** Scores tokenized items (any source of token ids: a tokenizer, or a benchmark's random ids). */
export async function scoreTokenized(fwd: ChoiceForward, tokenized: readonly TokenizedItem[], plan: BlockPlan, o: JobOptions = {}): Promise<ScoredTokens> {
  fwd.setPlan(plan);
  fwd.reserve(Math.max(1, ...tokenized.map((t) => t.longest)));
  const runBefore = fwd.tokensRun;
  // Shortest contexts first, so consecutive items share op-set shapes.
  const order = tokenized.map((_, i) => i).sort((a, b) => tokenized[a]!.groups[0]!.context.length - tokenized[b]!.groups[0]!.context.length);
  const choices = (i: number) => tokenized[i]!.groups.reduce((s, g) => s + g.continuations.length, 0);
  const logLikelihoods: number[][] = new Array(tokenized.length);
  for (let k0 = 0; k0 < order.length; k0 += ITEMS_PER_READBACK) {
    checkCancelled(o.signal);
    const chunk = order.slice(k0, k0 + ITEMS_PER_READBACK);
    const slots = chunk.reduce((s, i) => s + choices(i), 0);
    const results = fwd.resultsBuffer(slots);
    const counts: number[] = [];
    let slot = 0;
    for (const i of chunk) {
      for (const g of tokenized[i]!.groups) {
        fwd.encodeGroup(g, results, slot);
        slot += g.continuations.length;
        counts.push(...g.continuations.map((c) => c.length));
      }
    }
    try {
      const ll = await fwd.readResults(results, slots, counts);
      let s = 0;
      for (const i of chunk) {
        const n = choices(i);
        logLikelihoods[i] = Array.from(ll.subarray(s, s + n));
        s += n;
      }
    } finally {
      results.destroy();
    }
    o.onProgress?.(Math.min(k0 + chunk.length, order.length), order.length, 'items');
  }
  return { logLikelihoods, tokens: tokenized.reduce((s, t) => s + t.tokens, 0), tokensRun: fwd.tokensRun - runBefore };
}

export async function runTask(fwd: ChoiceForward, tok: TextTokenizer, items: readonly TaskItem[], o: TaskRunOptions): Promise<TaskRun> {
  const t0 = performance.now();
  const tokenized = items.map((item, i) => tokenizeItem(tok, item, o.lstripContinuation, `${o.label} item ${i}`));
  const scored = await scoreTokenized(fwd, tokenized, o.plan, o);
  const correct = items.map((item, i) => scoreItem(item, scored.logLikelihoods[i]!, o.metrics));
  const metrics: TaskMetrics = {};
  for (const m of o.metrics) metrics[m] = meanStderr(correct.map((c) => c[m]));
  return { ...scored, correct, metrics, seconds: (performance.now() - t0) / 1000 };
}
