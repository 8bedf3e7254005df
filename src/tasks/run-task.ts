/**
 * Runs a task's items on the GPU and aggregates lm-eval's metrics. Tokenization is the seed's
 * (`hf-causal-experimental` = AutoCausalLM, which keeps BaseLM's `loglikelihood` and `_encode_pair`
 * in src/lm_eval/base.py): no special tokens; the context's trailing whitespace moves to the
 * continuation; the continuation's tokens are those of (context + continuation) after the
 * context's own token count; an empty context is EOS followed by the continuation's tokens.
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

/** base.py's `_encode_pair` (and its empty-context case): the context's and the continuation's tokens. */
export function encodePair(tok: TextTokenizer, context: string, continuation: string): { context: number[]; continuation: number[] } {
  const encode = (text: string) => tok.encode(text, { addSpecialTokens: false });
  if (context === '') {
    const eos = tok.eosIds[0];
    return { context: eos === undefined ? [] : [eos], continuation: encode(continuation) };
  }
  // rstrip(): trailing whitespace belongs to the continuation; context + continuation is unchanged.
  const ctx = encode(context.replace(/\s+$/, ''));
  return { context: ctx, continuation: encode(context + continuation).slice(ctx.length) };
}

export function tokenizeItem(tok: TextTokenizer, item: TaskItem, where: string): TokenizedItem {
  const groups: { contextText: string; group: { context: number[]; continuations: number[][] } }[] = [];
  let tokens = 0;
  let longest = 0;
  for (const r of item.requests) {
    const pair = encodePair(tok, r.context, r.continuation);
    if (pair.context.length === 0) throw new TaskDataError(`${where}: the context is empty and the tokenizer has no EOS to stand for it`);
    if (pair.continuation.length === 0) throw new TaskDataError(`${where}: a choice tokenizes to nothing after its context`);
    let last = groups[groups.length - 1];
    if (!last || last.contextText !== r.context) {
      last = { contextText: r.context, group: { context: pair.context, continuations: [] } };
      groups.push(last);
      tokens += pair.context.length;
    }
    last.group.continuations.push(pair.continuation);
    tokens += pair.continuation.length;
    longest = Math.max(longest, pair.context.length + pair.continuation.length - 1);
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
  const tokenized = items.map((item, i) => tokenizeItem(tok, item, `${o.label} item ${i}`));
  const scored = await scoreTokenized(fwd, tokenized, o.plan, o);
  const correct = items.map((item, i) => scoreItem(item, scored.logLikelihoods[i]!, o.metrics));
  const metrics: TaskMetrics = {};
  for (const m of o.metrics) metrics[m] = meanStderr(correct.map((c) => c[m]));
  return { ...scored, correct, metrics, seconds: (performance.now() - t0) / 1000 };
}
