// @vitest-environment jsdom
/**
 * The Tasks panel: one engine job per picked task on the original and the current plan, results
 * kept task by task (a failing task keeps the others), the seed-layout table with differences, and
 * the mask's metrics.zero_shot.
 */
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ArgsOf, EngineRequest } from '../../src/app/protocol';
import type { TaskTable } from '../../src/tasks/results';
import { buildCurrentMask } from '../../src/ui/mask-actions';
import { currentRecord, keptBlocks, planKey, useLab } from '../../src/ui/store';
import { runTasks } from '../../src/ui/task-actions';
import { TasksPanel } from '../../src/ui/TasksPanel';
import { L, resetStore } from './ui-fixtures';

const requests: EngineRequest[] = [];
/** Accuracy the fake engine answers per plan index; a task id in `failing` answers an error. */
const failing = new Set<string>();
vi.mock('../../src/browser/worker-client', () => ({
  EngineError: class extends Error {
    constructor(message: string, readonly kind: string) {
      super(message);
    }
  },
  EngineClient: class {
    private next = 1;
    onEvent(): void {}
    cancel(): void {}
    tasks(args: ArgsOf<'tasks'>) {
      const request: EngineRequest = { type: 'tasks', ...args };
      requests.push(request);
      const task = args.tasks[0]!.task;
      if (failing.has(task)) return { id: this.next++, result: Promise.reject(new Error(`${task} row 3 of f.jsonl: gold index 9 is out of range for 4 choices`)) };
      const table: TaskTable = {
        plans: args.plans.map((p) => ({ name: p.name, blocks: p.plan.length })),
        tasks: [{
          task, title: task, metric: 'acc', split: 'heldout', source: 'shipped', items: 10, tokens: 100, tokensRun: args.plans.map(() => 90), seconds: args.plans.map(() => 1),
          perPlan: args.plans.map((_, i) => ({ acc: { value: [0.8, 0.6][i]!, stderr: 0.1 } })),
        }],
      };
      return { id: this.next++, result: Promise.resolve({ type: 'tasks', table }) };
    }
  },
}));

afterEach(cleanup);

describe('zero-shot tasks on the page', () => {
  beforeEach(() => {
    requests.length = 0;
    failing.clear();
    resetStore();
  });

  it('runs each picked task on the original and the current plan, and shows the seed table with differences', async () => {
    useLab.getState().toggleBlock(7);
    useLab.getState().toggleBlock(9);
    await runTasks();
    expect(requests.map((r) => r.type === 'tasks' && [r.tasks[0]!.task, r.tasks[0]!.limit, r.tasks[0]!.data.kind, r.plans.map((p) => p.plan.length)])).toEqual([
      ['kjv_verse_end', 100, 'embedded', [16, 14]], ['kjv_last_word', 100, 'embedded', [16, 14]],
    ]);
    render(<TasksPanel />);
    const table = screen.getByTestId('tasks-table');
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Model', 'kjv_verse_end', 'kjv_last_word', 'AVE']);
    expect(within(screen.getByTestId('tasks-row-0')).getAllByRole('cell').map((c) => c.textContent)).toEqual(['80.0', '80.0', '80.0']);
    expect(within(screen.getByTestId('tasks-row-1')).getAllByRole('cell').map((c) => c.textContent)).toEqual(['60.0', '60.0', '60.0']);
    expect(within(screen.getByTestId('tasks-diff')).getAllByRole('cell').map((c) => c.textContent)).toEqual(['-20.0', '-20.0', '-20.0']);
    const mask = await buildCurrentMask();
    expect(mask.metrics?.zero_shot?.tasks).toEqual([
      { task: 'kjv_verse_end', metric: 'acc', items: 10, before: 0.8, after: 0.6 },
      { task: 'kjv_last_word', metric: 'acc', items: 10, before: 0.8, after: 0.6 },
    ]);
  });

  it('keeps the tasks already measured when a later one fails, and names its row', async () => {
    useLab.getState().updateSettings({ tasks: { selected: ['kjv_last_word', 'kjv_verse_end'], limit: 0 } });
    failing.add('kjv_verse_end');
    await runTasks();
    expect(requests[0]!.type === 'tasks' && requests[0]!.tasks[0]!.limit).toBeUndefined();
    const rec = currentRecord(useLab.getState()).tasks!;
    expect(rec.table.tasks.map((t) => t.task)).toEqual(['kjv_last_word']);
    expect(rec.planKeys).toEqual([planKey(keptBlocks(L, []))]);
    expect(useLab.getState().errors.tasks).toMatch(/row 3 of f.jsonl: gold index 9/);
  });

  it('marks results of another plan as stale and leaves them out of the mask', async () => {
    await runTasks();
    useLab.getState().toggleBlock(5);
    render(<TasksPanel />);
    expect(screen.queryByTestId('tasks-table')).toBeNull();
    expect(screen.getByTestId('tasks-stale')).toBeTruthy();
    expect((await buildCurrentMask()).metrics?.zero_shot).toBeUndefined();
  });

  it('needs a file for the custom task before it runs', () => {
    useLab.getState().updateSettings({ tasks: { selected: ['custom'], limit: 0 } });
    render(<TasksPanel />);
    const run = screen.getByTestId('run-tasks') as HTMLButtonElement;
    expect(run.disabled).toBe(true);
    fireEvent.change(screen.getByTestId('task-file-custom'), { target: { files: [new File(['{"context":"a","choices":["b"],"gold":0}\n'], 'mine.jsonl')] } });
    expect(screen.getByTestId('task-file-name-custom').textContent).toContain('mine.jsonl');
    expect(run.disabled).toBe(false);
  });
});
