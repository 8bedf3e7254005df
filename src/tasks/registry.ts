/**
 * Every task the lab can run, by id: the seed's seven, the two KJV tasks the embedded model can
 * answer (shipped in public/data/tasks/, built by tools/tasks/make_kjv_tasks.py) and `custom`, a
 * plain JSON Lines format for any task: {"context": ..., "choices": [...], "gold": i}. The engine,
 * the CLI and the page read this one list.
 */
import { checkChoices, integer, text, textList } from './columns';
import { SEED_TASKS, type TaskFormat } from './seed-tasks';
import { multipleChoice } from './types';

/** `custom` rows score " " + choice after the context, as MultipleChoiceTask does. */
export const CUSTOM_TASK: TaskFormat = {
  id: 'custom', title: 'Custom', metric: 'acc', metrics: ['acc', 'acc_norm'], split: 'file',
  columns: ['context', 'choices', 'gold'], follows: 'MultipleChoiceTask in src/lm_eval/base.py',
  toItem(row, where) {
    const choices = textList(row, 'choices', where);
    const gold = integer(row, 'gold', where);
    checkChoices(choices.length, gold, where);
    return multipleChoice(text(row, 'context', where), choices, gold);
  },
};

export const KJV_TASKS: TaskFormat[] = [
  { ...CUSTOM_TASK, id: 'kjv_verse_end', title: 'KJV verse end', metric: 'acc_norm', split: 'heldout', embedded: 'tasks/kjv-verse-end.jsonl' },
  { ...CUSTOM_TASK, id: 'kjv_last_word', title: 'KJV last word', metric: 'acc', split: 'heldout', embedded: 'tasks/kjv-last-word.jsonl' },
];

export const TASKS: TaskFormat[] = [...SEED_TASKS, ...KJV_TASKS, CUSTOM_TASK];

/** The seed's table order (zeroshot_acc.csv). */
export const SEED_TABLE_ORDER = ['boolq', 'piqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa'];

export function taskFormat(id: string): TaskFormat {
  const f = TASKS.find((t) => t.id === id);
  if (!f) throw new RangeError(`unknown task ${JSON.stringify(id)}; tasks: ${TASKS.map((t) => t.id).join(', ')}`);
  return f;
}
