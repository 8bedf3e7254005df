/**
 * The seed's seven zero-shot tasks, formatted exactly as its lm-eval snapshot does
 * (Nota-NetsPresso/shortened-llm, src/lm_eval/tasks/*.py, zero-shot: the context is doc_to_text).
 * Each definition names the file it follows; the metric is the one src/utils.py's
 * convert_json2csv_zeroshot puts in zeroshot_acc.csv. The split is the one the snapshot's evaluator
 * picks: test docs where the task has them, else validation.
 */
import { checkChoices, integer, struct, text, textList } from './columns';
import { multipleChoice, pyLen, TaskDataError, type DatasetRow, type MetricName, type TaskItem } from './types';

export interface HubDataFile {
  /** Dataset repository on the Hub and the revision holding the Parquet file. */
  dataset: string;
  revision: string;
  file: string;
}

export interface TaskFormat {
  id: string;
  title: string;
  /** The metric of the seed's table; `metrics` are all the task reports. */
  metric: MetricName;
  metrics: MetricName[];
  split: string;
  /** The columns a dataset row must have. */
  columns: string[];
  /** Seed file this format follows (README lists them). */
  follows: string;
  hub?: HubDataFile;
  /** A file the app ships under public/data/ (the KJV tasks). */
  embedded?: string;
  toItem(row: DatasetRow, where: string): TaskItem;
}

const ARC_LETTERS = ['A', 'B', 'C', 'D', 'E'];
const NUM_TO_LETTER: Record<string, string> = { 1: 'A', 2: 'B', 3: 'C', 4: 'D', 5: 'E' };

function letterIndex(letters: string[], key: string, where: string, col: string): number {
  const i = letters.indexOf(key);
  if (i < 0) throw new TaskDataError(`${where}: column "${col}" is ${JSON.stringify(key)}, not one of ${letters.join(', ')}`);
  return i;
}

function checked(item: TaskItem, where: string): TaskItem {
  checkChoices(item.requests.length, item.gold, where);
  return item;
}

/** ARC's _process_doc (arc.py): letters or digits as answer keys; gold indexes A..E, not the row's labels. */
function arcItem(row: DatasetRow, where: string): TaskItem {
  const key = text(row, 'answerKey', where);
  const gold = letterIndex(ARC_LETTERS, NUM_TO_LETTER[key] ?? key, where, 'answerKey');
  const choices = textList(row, 'choices.text', where, struct(row, 'choices', where).text);
  return checked(multipleChoice(`Question: ${text(row, 'question', where)}\nAnswer:`, choices, gold), where);
}

/** hellaswag.py's preprocess: strip, " [title]" -> ". ", drop [bracketed] tags, collapse double spaces. */
export function hellaswagPreprocess(s: string): string {
  return s.trim().replaceAll(' [title]', '. ').replace(/\[.*?\]/g, '').replaceAll('  ', ' ');
}

/** Python's str.capitalize(): first character upper case, the rest lower case. */
function capitalize(s: string): string {
  const [first = '', ...rest] = s;
  return first.toUpperCase() + rest.join('').toLowerCase();
}

export const SEED_TASKS: TaskFormat[] = [
  {
    id: 'boolq', title: 'BoolQ', metric: 'acc', metrics: ['acc'], split: 'validation',
    columns: ['passage', 'question', 'label'], follows: 'src/lm_eval/tasks/superglue.py (BoolQ)',
    hub: { dataset: 'aps/super_glue', revision: 'main', file: 'boolq/validation-00000-of-00001.parquet' },
    // The snapshot compares ll(" yes") > ll(" no") with the label (1 = yes); with " no" first, argmax
    // over [" no", " yes"] is that comparison, ties included.
    toItem(row, where) {
      const context = `${text(row, 'passage', where)}\nQuestion: ${text(row, 'question', where)}?\nAnswer:`;
      const label = integer(row, 'label', where);
      return checked({ requests: [' no', ' yes'].map((c) => ({ context, continuation: c, normChars: pyLen(c) - 1 })), gold: label }, where);
    },
  },
  {
    id: 'piqa', title: 'PIQA', metric: 'acc', metrics: ['acc', 'acc_norm'], split: 'validation',
    columns: ['goal', 'sol1', 'sol2', 'label'], follows: 'src/lm_eval/tasks/piqa.py',
    hub: { dataset: 'ybisk/piqa', revision: 'refs/convert/parquet', file: 'plain_text/validation/0000.parquet' },
    toItem(row, where) {
      const choices = [text(row, 'sol1', where), text(row, 'sol2', where)];
      return checked(multipleChoice(`Question: ${text(row, 'goal', where)}\nAnswer:`, choices, integer(row, 'label', where)), where);
    },
  },
  {
    id: 'hellaswag', title: 'HellaSwag', metric: 'acc_norm', metrics: ['acc', 'acc_norm'], split: 'validation',
    columns: ['activity_label', 'ctx_a', 'ctx_b', 'endings', 'label'], follows: 'src/lm_eval/tasks/hellaswag.py',
    hub: { dataset: 'Rowan/hellaswag', revision: 'refs/convert/parquet', file: 'default/validation/0000.parquet' },
    toItem(row, where) {
      const ctx = `${text(row, 'ctx_a', where)} ${capitalize(text(row, 'ctx_b', where))}`;
      const query = hellaswagPreprocess(`${text(row, 'activity_label', where)}: ${ctx}`);
      const endings = textList(row, 'endings', where).map(hellaswagPreprocess);
      return checked(multipleChoice(query, endings, integer(row, 'label', where)), where);
    },
  },
  {
    id: 'winogrande', title: 'WinoGrande', metric: 'acc', metrics: ['acc'], split: 'validation',
    columns: ['sentence', 'option1', 'option2', 'answer'], follows: 'src/lm_eval/tasks/winogrande.py (partial scoring)',
    hub: { dataset: 'allenai/winogrande', revision: 'main', file: 'winogrande_xl/validation-00000-of-00001.parquet' },
    // Partial scoring: each option fills the blank and ends its context; the rest of the sentence is
    // the shared continuation.
    toItem(row, where) {
      const sentence = text(row, 'sentence', where);
      const blank = sentence.indexOf('_');
      if (blank < 0) throw new TaskDataError(`${where}: column "sentence" has no "_" blank`);
      const answer = text(row, 'answer', where);
      const gold = { 1: 0, 2: 1 }[answer.trim()];
      if (gold === undefined) throw new TaskDataError(`${where}: column "answer" is ${JSON.stringify(answer)}, not "1" or "2"`);
      const continuation = ` ${sentence.slice(blank + 1).trim()}`;
      const options = [text(row, 'option1', where), text(row, 'option2', where)];
      return checked({ requests: options.map((o) => ({ context: sentence.slice(0, blank) + o, continuation, normChars: pyLen(continuation) - 1 })), gold }, where);
    },
  },
  {
    id: 'arc_easy', title: 'ARC-e', metric: 'acc', metrics: ['acc', 'acc_norm'], split: 'test',
    columns: ['question', 'choices', 'answerKey'], follows: 'src/lm_eval/tasks/arc.py (ARCEasy)',
    hub: { dataset: 'allenai/ai2_arc', revision: 'main', file: 'ARC-Easy/test-00000-of-00001.parquet' },
    toItem: arcItem,
  },
  {
    id: 'arc_challenge', title: 'ARC-c', metric: 'acc_norm', metrics: ['acc', 'acc_norm'], split: 'test',
    columns: ['question', 'choices', 'answerKey'], follows: 'src/lm_eval/tasks/arc.py (ARCChallenge)',
    hub: { dataset: 'allenai/ai2_arc', revision: 'main', file: 'ARC-Challenge/test-00000-of-00001.parquet' },
    toItem: arcItem,
  },
  {
    id: 'openbookqa', title: 'OpenBookQA', metric: 'acc_norm', metrics: ['acc', 'acc_norm'], split: 'test',
    columns: ['question_stem', 'choices', 'answerKey'], follows: 'src/lm_eval/tasks/openbookqa.py',
    hub: { dataset: 'allenai/openbookqa', revision: 'main', file: 'main/test-00000-of-00001.parquet' },
    toItem(row, where) {
      const gold = letterIndex(['A', 'B', 'C', 'D'], text(row, 'answerKey', where).trim(), where, 'answerKey');
      const choices = textList(row, 'choices.text', where, struct(row, 'choices', where).text);
      return checked(multipleChoice(text(row, 'question_stem', where), choices, gold), where);
    },
  },
];
