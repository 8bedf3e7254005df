/**
 * lm-eval's multiple-choice metrics (the seed's snapshot: base.py MultipleChoiceTask and
 * metrics.py): acc picks the highest summed log-likelihood, acc_norm the highest log-likelihood per
 * character of the choice; np.argmax keeps the first of equal values. Aggregation is the mean and
 * its standard error the sample standard deviation over sqrt(n) (mean_stderr).
 */
import type { MetricName, TaskItem } from './types';

export interface MetricValue {
  value: number;
  stderr: number;
}

export type TaskMetrics = Partial<Record<MetricName, MetricValue>>;

/** First index of the largest value, as numpy's argmax. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Per-item correctness (1 or 0) of each metric, given each choice's log-likelihood. */
export function scoreItem(item: TaskItem, logLikelihoods: ArrayLike<number>, metrics: readonly MetricName[]): Record<MetricName, number> {
  const out = {} as Record<MetricName, number>;
  for (const m of metrics) {
    const ll = m === 'acc' ? Array.from(logLikelihoods) : item.requests.map((r, i) => logLikelihoods[i]! / r.normChars);
    out[m] = argmax(ll) === item.gold ? 1 : 0;
  }
  return out;
}

export function meanStderr(values: readonly number[]): MetricValue {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: mean, stderr: NaN };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { value: mean, stderr: Math.sqrt(variance) / Math.sqrt(n) };
}
