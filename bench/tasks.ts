/**
 * Zero-shot task scoring benchmark (part of `npm run bench`): scored tokens per second (the tokens
 * lm-eval scores: each item's contexts plus its continuations) and the ratio of tokens the GPU ran
 * to those (target <= 1.05: no context run twice; below 1 since a continuation's last token is never
 * run). The embedded model runs the two shipped KJV tasks; the synthetic models of bench/common.ts
 * run random-token items shaped like HellaSwag (context ~80 tokens, 4 endings ~20 tokens), on hardware
 * adapters only (quick mode, on a software adapter, runs 40 items of each KJV task and no synthetic model).
 * Writes results/<adapter>/bench-tasks.json.
 */
import { readFileSync } from 'node:fs';
import { describeAdapter } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/node/dawn';
import { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { NodeFolderSource } from '../src/node/folder-source';
import { loadTokenizer } from '../src/io/tokenizer';
import { LlamaModel } from '../src/model/model';
import { ChoiceForward } from '../src/tasks/choice-forward';
import { parseJsonl } from '../src/tasks/dataset-file';
import { taskFormat } from '../src/tasks/registry';
import { runTask, scoreTokenized, type TokenizedItem } from '../src/tasks/run-task';
import { mulberry32 } from '../src/util/random';
import { withSyntheticModel } from './synthetic-model';
import { quickMode, syntheticModels, writeResult } from './common';

function row(tokens: number, tokensRun: number, seconds: number, items: number) {
  return { items, tokens, tokensRun, seconds, scoredTokensPerS: tokens / seconds, runRatio: tokensRun / tokens };
}

/** Random-token items: a context and four continuations of lengths around the given means. */
function randomItems(n: number, vocab: number, seed: number): TokenizedItem[] {
  const rand = mulberry32(seed);
  const ids = (len: number) => Array.from({ length: len }, () => 3 + Math.floor(rand() * (vocab - 3)));
  return Array.from({ length: n }, () => {
    const context = ids(60 + Math.floor(rand() * 40));
    const continuations = Array.from({ length: 4 }, () => ids(12 + Math.floor(rand() * 16)));
    return { groups: [{ context, continuations }], tokens: context.length + continuations.reduce((s, c) => s + c.length, 0), longest: context.length + Math.max(...continuations.map((c) => c.length)) - 1 };
  });
}

async function main(): Promise<void> {
  const ctx = await acquireNodeDevice('bench-tasks');
  const rt = new GpuRuntime(ctx);
  const quick = quickMode(ctx);
  const result: Record<string, unknown> = { adapter: describeAdapter(ctx.adapter), date: new Date().toISOString(), quick };

  const folder = 'public/models/kjv-tiny-llama';
  const tok = await loadTokenizer(new NodeFolderSource(folder));
  const model = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource(folder)));
  const fwd = new ChoiceForward(model);
  const embedded: Record<string, unknown> = {};
  for (const [task, file] of [['kjv_verse_end', 'kjv-verse-end.jsonl'], ['kjv_last_word', 'kjv-last-word.jsonl']] as const) {
    const format = taskFormat(task);
    const rows = parseJsonl(readFileSync(`public/data/tasks/${file}`, 'utf8'), file).slice(0, quick ? 40 : undefined);
    const items = rows.map((r, i) => format.toItem(r, `${task} row ${i}`));
    const run = await runTask(fwd, tok, items, { plan: model.fullPlan(), metrics: format.metrics, label: task });
    embedded[task] = { ...row(run.tokens, run.tokensRun, run.seconds, items.length), metrics: run.metrics };
    console.log('embedded', task, JSON.stringify(embedded[task]));
  }
  result.embedded = embedded;
  fwd.destroy();
  model.dispose();

  // A software adapter needs minutes per item of the 311 MB model: the synthetic models run on GPUs only.
  for (const { name, shape } of quick ? [] : syntheticModels(ctx)) {
    await withSyntheticModel(rt, shape, async (m) => {
      const f = new ChoiceForward(m);
      const items = randomItems(64, shape.vocab!, 1);
      await scoreTokenized(f, items.slice(0, 2), m.fullPlan()); // compiles the pipelines, untimed
      const t0 = performance.now();
      const r = await scoreTokenized(f, items, m.fullPlan());
      result[name] = { shape, ...row(r.tokens, r.tokensRun, (performance.now() - t0) / 1000, items.length) };
      console.log(name, JSON.stringify(result[name]));
      f.destroy();
    });
  }
  writeResult(ctx, 'bench-tasks', result);
  ctx.device.destroy();
}

await main();
