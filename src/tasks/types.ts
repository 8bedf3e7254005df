/**
 * A zero-shot multiple-choice item as lm-eval scores it: one (context, continuation) request per
 * choice, gold the index of the right one. Most tasks share one context across the choices;
 * WinoGrande's partial scoring has one context per choice and a shared continuation.
 */
export interface ChoiceRequest {
  context: string;
  /** As the task writes it (leading space included); the scorer strips it as the seed's snapshot does. */
  continuation: string;
  /** Characters acc_norm divides by: len(choice) in the snapshot, the choice without its leading space. */
  normChars: number;
}

export interface TaskItem {
  requests: ChoiceRequest[];
  gold: number;
}

/** The metrics a task reports; the seed's table picks one per task. */
export type MetricName = 'acc' | 'acc_norm';

/** A row of a dataset file in its own columns (Parquet or JSONL). */
export type DatasetRow = Record<string, unknown>;

/** Bad input (a missing column, an empty choice list, a gold index out of range): names the row. */
export class TaskDataError extends Error {
  override name = 'TaskDataError';
}

/** Python's len(): code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A multiple-choice item with one context and " " + choice continuations (MultipleChoiceTask). */
export function multipleChoice(context: string, choices: string[], gold: number): TaskItem {
  return { requests: choices.map((c) => ({ context, continuation: ` ${c}`, normChars: pyLen(c) })), gold };
}
