/**
 * The seven task formats against the strings the seed's lm-eval snapshot builds for real-layout rows
 * (contexts, continuations with their leading spaces, targets), the custom format, and bad input.
 */
import { describe, expect, it } from 'vitest';
import { hellaswagPreprocess } from '../../src/tasks/seed-tasks';
import { taskFormat } from '../../src/tasks/registry';
import type { DatasetRow, TaskItem } from '../../src/tasks/types';

const item = (task: string, row: DatasetRow): TaskItem => taskFormat(task).toItem(row, `${task} row 0`);
const contexts = (i: TaskItem) => i.requests.map((r) => r.context);
const continuations = (i: TaskItem) => i.requests.map((r) => r.continuation);

describe('seed task formats (src/lm_eval/tasks/*.py of the seed)', () => {
  it('boolq: passage, Question: ...?, Answer:; " no" / " yes", gold = label', () => {
    const it_ = item('boolq', { question: 'is the sky blue', passage: 'The sky is blue.', idx: 3n, label: 1n });
    expect(contexts(it_)).toEqual(['The sky is blue.\nQuestion: is the sky blue?\nAnswer:', 'The sky is blue.\nQuestion: is the sky blue?\nAnswer:']);
    expect(continuations(it_)).toEqual([' no', ' yes']);
    expect(it_.gold).toBe(1);
    expect(item('boolq', { question: 'q', passage: 'p', label: 0 }).gold).toBe(0);
  });

  it('piqa: Question: goal\\nAnswer:; " " + sol1 / sol2', () => {
    const it_ = item('piqa', { goal: 'How do I boil water?', sol1: 'Heat it in a pot.', sol2: 'Freeze it.', label: 0n });
    expect(contexts(it_)[0]).toBe('Question: How do I boil water?\nAnswer:');
    expect(continuations(it_)).toEqual([' Heat it in a pot.', ' Freeze it.']);
    expect(it_.requests.map((r) => r.normChars)).toEqual([17, 10]);
    expect(it_.gold).toBe(0);
  });

  it('hellaswag: activity_label: ctx_a + capitalized ctx_b, preprocessed; string label', () => {
    const it_ = item('hellaswag', {
      activity_label: 'Home and Garden', ctx_a: '[header] How to plant a fig [title] Choose a place.', ctx_b: 'DIG a Hole',
      endings: ['[step] Set the tree in.', 'Eat  it.', 'x [title] y', ' z '], label: '2',
    });
    // capitalize() lowers the rest: "Dig a hole"; " [title]" -> ". ", tags removed, double spaces collapsed once.
    expect(contexts(it_)[0]).toBe('Home and Garden: How to plant a fig. Choose a place. Dig a hole');
    expect(continuations(it_)).toEqual(['  Set the tree in.', ' Eat it.', ' x. y', ' z']);
    expect(it_.requests.map((r) => r.normChars)).toEqual([17, 7, 4, 1]);
    expect(it_.gold).toBe(2);
    expect(hellaswagPreprocess('a [x] [y]  b   c')).toBe('a  b  c');
  });

  it('winogrande: partial scoring, the option closes the context, the rest is the shared continuation', () => {
    const it_ = item('winogrande', { sentence: 'Sarah was a much better surgeon than Maria so _ always got the harder cases.', option1: 'Sarah', option2: 'Maria', answer: '1' });
    expect(contexts(it_)).toEqual(['Sarah was a much better surgeon than Maria so Sarah', 'Sarah was a much better surgeon than Maria so Maria']);
    expect(continuations(it_)).toEqual([' always got the harder cases.', ' always got the harder cases.']);
    expect(it_.gold).toBe(0);
    expect(item('winogrande', { sentence: 'A _ b', option1: 'x', option2: 'y', answer: '2' }).gold).toBe(1);
  });

  it('arc: Question: ...\\nAnswer:; digit answer keys map to letters; gold indexes A..E', () => {
    const row = { id: 'x', question: 'Which is a liquid?', choices: { text: ['ice', 'water', 'steam'], label: ['1', '2', '3'] }, answerKey: '2' };
    for (const task of ['arc_easy', 'arc_challenge']) {
      const it_ = item(task, row);
      expect(contexts(it_)[0]).toBe('Question: Which is a liquid?\nAnswer:');
      expect(continuations(it_)).toEqual([' ice', ' water', ' steam']);
      expect(it_.gold).toBe(1);
    }
    expect(item('arc_easy', { ...row, answerKey: 'C' }).gold).toBe(2);
  });

  it('openbookqa: question_stem alone; answerKey stripped', () => {
    const it_ = item('openbookqa', { id: '1', question_stem: 'The sun is responsible for', choices: { text: ['a', 'b', 'c', 'plants sprouting'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'D ' });
    expect(contexts(it_)[0]).toBe('The sun is responsible for');
    expect(continuations(it_)[3]).toBe(' plants sprouting');
    expect(it_.gold).toBe(3);
  });

  it('split and metric of the seed table', () => {
    const table = ['boolq', 'piqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa'].map((t) => [t, taskFormat(t).split, taskFormat(t).metric]);
    expect(table).toEqual([
      ['boolq', 'validation', 'acc'], ['piqa', 'validation', 'acc'], ['hellaswag', 'validation', 'acc_norm'], ['winogrande', 'validation', 'acc'],
      ['arc_easy', 'test', 'acc'], ['arc_challenge', 'test', 'acc_norm'], ['openbookqa', 'test', 'acc_norm'],
    ]);
  });

  it('custom: context + " " + choice, acc_norm over the choice characters (code points)', () => {
    const it_ = item('custom', { context: 'In the beginning', choices: ['God', 'Gød 🙂'], gold: 0 });
    expect(continuations(it_)).toEqual([' God', ' Gød 🙂']);
    expect(it_.requests.map((r) => r.normChars)).toEqual([3, 5]);
  });
});

describe('bad input names the row', () => {
  it('a missing column', () => {
    expect(() => item('piqa', { goal: 'g', sol1: 'a', label: 0 })).toThrow(/piqa row 0: column "sol2" must be a string \(missing\)/);
  });
  it('an empty choice list', () => {
    expect(() => item('custom', { context: 'c', choices: [], gold: 0 })).toThrow(/custom row 0: the choice list is empty/);
  });
  it('a gold index out of range', () => {
    expect(() => item('custom', { context: 'c', choices: ['a', 'b'], gold: 2 })).toThrow(/custom row 0: gold index 2 is out of range for 2 choices/);
    expect(() => item('hellaswag', { activity_label: 'a', ctx_a: 'b', ctx_b: 'c', endings: ['x'], label: '3' })).toThrow(/hellaswag row 0: gold index 3/);
    expect(() => item('arc_easy', { question: 'q', choices: { text: ['a'], label: ['A'] }, answerKey: 'F' })).toThrow(/arc_easy row 0: column "answerKey" is "F"/);
  });
  it('a winogrande sentence without a blank', () => {
    expect(() => item('winogrande', { sentence: 'no blank', option1: 'a', option2: 'b', answer: '1' })).toThrow(/winogrande row 0: column "sentence" has no "_" blank/);
  });
  it('an unknown task', () => {
    expect(() => taskFormat('mmlu')).toThrow(/unknown task "mmlu"/);
  });
});
