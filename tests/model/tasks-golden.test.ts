/**
 * Zero-shot task scoring against the PyTorch float64 fixture (tools/tasks/make_task_fixture.py):
 * items of every task format (WinoGrande's partial scoring included) formatted to the same strings,
 * tokenized to the same ids, every choice's log-likelihood within 1e-5 relative, identical acc and
 * acc_norm; on the full model and through the same path on a pruned plan against a whole-sequence run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFolderSource } from '../../src/node/folder-source';
import { loadTokenizer, type TextTokenizer } from '../../src/io/tokenizer';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { ChoiceForward } from '../../src/tasks/choice-forward';
import { parseJsonl } from '../../src/tasks/dataset-file';
import { taskFormat } from '../../src/tasks/registry';
import { runTask, tokenizeItem } from '../../src/tasks/run-task';
import { CancelledError } from '../../src/util/job';
import { isDeviceBuffer } from '../../src/gpu/device-buffers';
import type { DatasetRow, TaskItem } from '../../src/tasks/types';
import { recordBuffersAsync } from '../helpers/gpu';
import { EMBEDDED_MODEL, FIXTURES, loadTestModel } from '../helpers/models';

interface GoldenRequest { context: string; continuation: string; norm_chars: number; context_ids: number[]; continuation_ids: number[]; loglikelihood: number }
interface GoldenItem { task: string; row: number; gold: number; requests: GoldenRequest[]; acc: number; acc_norm: number }

const golden = JSON.parse(readFileSync(join(FIXTURES, 'tasks/golden.json'), 'utf8')) as { items: GoldenItem[] };
const rows = JSON.parse(readFileSync(join(FIXTURES, 'tasks/rows.json'), 'utf8')) as Record<string, DatasetRow[]>;
const kjvFiles: Record<string, string> = { kjv_verse_end: 'kjv-verse-end.jsonl', kjv_last_word: 'kjv-last-word.jsonl' };

function rowOf(g: GoldenItem): DatasetRow {
  const file = kjvFiles[g.task];
  if (!file) return rows[g.task]![g.row]!;
  return parseJsonl(readFileSync(join(process.cwd(), 'public/data/tasks', file), 'utf8'), file)[g.row]!;
}

let model: LlamaModel;
let tok: TextTokenizer;
let fwd: ChoiceForward;
beforeAll(async () => {
  model = await loadTestModel();
  tok = await loadTokenizer(new NodeFolderSource(EMBEDDED_MODEL), { config: model.config });
  fwd = new ChoiceForward(model);
});
afterAll(() => {
  fwd?.destroy();
  model?.dispose();
});

describe('zero-shot task scoring vs PyTorch float64', { timeout: 600_000 }, () => {
  const tasks = [...new Set(golden.items.map((g) => g.task))];

  it('covers every task format', () => {
    expect(tasks).toEqual(expect.arrayContaining(['boolq', 'piqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa', 'custom', 'kjv_verse_end', 'kjv_last_word']));
  });

  for (const task of tasks) {
    it(`${task}: same strings, token ids, log-likelihoods (1e-5), acc and acc_norm`, async () => {
      const format = taskFormat(task);
      const cases = golden.items.filter((g) => g.task === task);
      const items: TaskItem[] = cases.map((g) => format.toItem(rowOf(g), `${task} row ${g.row}`));
      cases.forEach((g, i) => {
        expect(items[i]!.gold).toBe(g.gold);
        expect(items[i]!.requests.map((r) => [r.context, r.continuation, r.normChars])).toEqual(g.requests.map((r) => [r.context, r.continuation, r.norm_chars]));
        const t = tokenizeItem(tok, items[i]!, task);
        const flat = t.groups.flatMap((grp) => grp.continuations.map((c) => [grp.context, c]));
        expect(flat).toEqual(g.requests.map((r) => [r.context_ids, r.continuation_ids]));
      });
      const run = await runTask(fwd, tok, items, { plan: model.fullPlan(), metrics: ['acc', 'acc_norm'], label: task });
      cases.forEach((g, i) => {
        g.requests.forEach((r, j) => {
          const got = run.logLikelihoods[i]![j]!;
          expect(Math.abs(got - r.loglikelihood) / Math.abs(r.loglikelihood), `item ${g.row} choice ${j}: ${got} vs ${r.loglikelihood}`).toBeLessThan(1e-5);
        });
        expect(run.correct[i]).toEqual({ acc: g.acc, acc_norm: g.acc_norm });
      });
      // Each context once (consecutive requests sharing it), and a continuation's last token never run.
      let contexts = 0;
      let continuations = 0;
      for (const g of cases) {
        g.requests.forEach((r, j) => {
          if (j === 0 || g.requests[j - 1]!.context !== r.context) contexts += r.context_ids.length;
          continuations += r.continuation_ids.length;
        });
      }
      const requests = cases.reduce((s, g) => s + g.requests.length, 0);
      expect(run.tokens).toBe(contexts + continuations);
      expect(run.tokensRun).toBe(contexts + continuations - requests);
    });
  }

  it('on a pruned plan, matches the whole sequence run through the batched forward', async () => {
    const plan = planWithout(model.numLayers, [3, 7, 8]);
    const g = golden.items.find((x) => x.task === 'hellaswag')!;
    const item = taskFormat('hellaswag').toItem(rowOf(g), 'hellaswag');
    const progress: [number, number][] = [];
    const run = await runTask(fwd, tok, [item], { plan, metrics: ['acc'], label: 'hellaswag', onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toEqual([[1, 1]]);
    for (const [j, r] of g.requests.entries()) {
      // (context + continuation) as one sequence: the NLL of its last |continuation| predictions.
      const ids = [...r.context_ids, ...r.continuation_ids];
      const whole = await model.nll(Uint32Array.from(ids), 1, ids.length, plan);
      const prefix = await model.nll(Uint32Array.from(r.context_ids), 1, r.context_ids.length, plan);
      const expected = -(whole.sums[0]! - prefix.sums[0]!);
      expect(Math.abs(run.logLikelihoods[0]![j]! - expected) / Math.abs(expected)).toBeLessThan(1e-4);
    }
  });

  it('frees every buffer it allocated (op sets, caches, read-backs) on destroy', async () => {
    const { created, destroyed } = await recordBuffersAsync(model.rt.device, async () => {
      const own = new ChoiceForward(model);
      for (const task of ['winogrande', 'arc_easy']) {
        const g = golden.items.find((x) => x.task === task)!;
        await runTask(own, tok, [taskFormat(task).toItem(rowOf(g), task)], { plan: planWithout(model.numLayers, [2]), metrics: ['acc'], label: task });
      }
      own.destroy();
    });
    expect(created.length).toBeGreaterThan(0);
    expect(created.filter((b) => !destroyed.has(b) && !isDeviceBuffer(b)).map((b) => b.label)).toEqual([]);
  });

  it('stops when cancelled', async () => {
    const g = golden.items.find((x) => x.task === 'piqa')!;
    const item = taskFormat('piqa').toItem(rowOf(g), 'piqa');
    const controller = new AbortController();
    controller.abort();
    await expect(runTask(fwd, tok, [item], { plan: model.fullPlan(), metrics: ['acc'], label: 'piqa', signal: controller.signal })).rejects.toThrow(CancelledError);
  });
});
