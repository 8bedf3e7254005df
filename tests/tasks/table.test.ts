/** The task table in zeroshot_acc.csv's layout (src/utils.py of the seed), plans and their differences. */
import { describe, expect, it } from 'vitest';
import { planScores, taskTableCsv, type TaskTable } from '../../src/tasks/results';

const table: TaskTable = {
  plans: [{ name: 'original', blocks: 16 }, { name: 'pruned', blocks: 13 }],
  tasks: [
    { task: 'boolq', title: 'BoolQ', metric: 'acc', split: 'validation', source: 's', items: 4, tokens: 1, tokensRun: [1, 1], seconds: [1, 1],
      perPlan: [{ acc: { value: 0.75, stderr: 0.25 } }, { acc: { value: 0.5, stderr: 0.29 } }] },
    { task: 'hellaswag', title: 'HellaSwag', metric: 'acc_norm', split: 'validation', source: 's', items: 4, tokens: 1, tokensRun: [1, 1], seconds: [1, 1],
      perPlan: [{ acc: { value: 0, stderr: 0 }, acc_norm: { value: 0.25, stderr: 0.25 } }, { acc: { value: 1, stderr: 0 }, acc_norm: { value: 0.5, stderr: 0.29 } }] },
  ],
};

describe('task table', () => {
  it("scores each task by the seed table's metric, in percent, with the average", () => {
    expect(planScores(table, 0)).toEqual({ scores: [75, 25], average: 50 });
    expect(planScores(table, 1)).toEqual({ scores: [50, 50], average: 50 });
  });

  it('writes tasks + AVE, metrics + n/a, then each plan and its difference to the original', () => {
    expect(taskTableCsv(table)).toBe(
      'model,boolq,hellaswag,AVE\n' +
      'metric,acc,acc_norm,n/a\n' +
      'original,75,25,50\n' +
      'pruned,50,50,50\n' +
      'pruned - original,-25,25,0\n',
    );
  });
});

describe("the mask's metrics.zero_shot", () => {
  it('carries each task with its table metric, original and pruned, and validates', async () => {
    const { maskZeroShot } = await import('../../src/tasks/results');
    const { buildMask, parseMask, serializeMask } = await import('../../src/prune/mask');
    const zero = maskZeroShot(table)!;
    expect(zero.tasks).toEqual([
      { task: 'boolq', metric: 'acc', items: 4, before: 0.75, after: 0.5 },
      { task: 'hellaswag', metric: 'acc_norm', items: 4, before: 0.25, after: 0.5 },
    ]);
    expect(maskZeroShot({ ...table, plans: table.plans.slice(0, 1) })).toBeUndefined();
    const mask = buildMask({
      model: { source: { kind: 'embedded', name: 'm' }, architecture: 'LlamaForCausalLM', num_hidden_layers: 4, fingerprint: 'ab'.repeat(32) },
      criterion: { name: 'manual', calibration: null, protected_blocks: [] }, scores: {}, ranking: [], removed: [2], metrics: { zero_shot: zero },
    });
    expect(parseMask(serializeMask(mask), { numLayers: 4 }).metrics?.zero_shot).toEqual(zero);
    expect(() => serializeMask({ ...mask, metrics: { zero_shot: { tasks: [{ ...zero.tasks[0]!, before: 75 }] } } })).toThrow(/zero_shot\/tasks\/0\/before/);
  });
});
