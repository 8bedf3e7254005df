/**
 * depth-pruning-lab: the lab's engine without the page, on the same WGSL kernels through
 * Node's WebGPU (Dawn). Exit codes: 0 success, 2 bad input (arguments, files, masks), 1 failure.
 */
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describeAdapter } from '../gpu/device';
import { acquireNodeDevice } from '../node/dawn';
import { CheckpointError } from '../io/errors';
import { inspectCheckpoint } from '../io/checkpoint';
import { familyDifferences } from '../io/families';
import { estimateGpuMemory } from '../io/load';
import { exportPrunedCheckpoint, MASK_FILE } from '../export/checkpoint';
import { checkOutputFile, checkOutputFolder, OutputFolderError, stagedFolderExport } from '../node/folder-export';
import { LLAMA_CPP_TYPE_HINT, llamaCppPruneCommand } from '../export/llama-cpp';
import { exportSourceFromIndex } from '../export/source';
import { speedup } from '../eval/speed';
import { ratioToFloat, type FormatComparison } from '../eval/format-comparison';
import { CalibrationError, uploadedText } from '../prune/calibration';
import { finiteOrNull } from '../prune/criteria/ranking';
import { CRITERION_IDS, type ScoredCriterion } from '../prune/criteria/registry';
import { MaskError, modelIssues, parseMask, serializeMask, withHealing, type PruningMask } from '../prune/mask';
import { blocksForRatio, resolveProtected, SEED_PROTECTED } from '../prune/select';
import { planWithout } from '../model/plan';
import { LabEngine } from '../app/lab';
import { HEAL_DEFAULTS, type HealSettings } from '../heal/run';
import { HealDataError, parseHealJsonl } from '../heal/data';
import { mergedExportSource } from '../heal/merge';
import { parsePeftAdapter } from '../heal/peft';
import { healingRecord, healRecipe } from '../heal/recipe';
import { DEFAULT_SWEEP_WINDOWS, sweepCsv, sweepRows } from '../app/sweep';
import { sweepK } from '../prune/criteria/sweep-plans';
import type { CriterionResult, EngineRequest, ModelInfo, ReplyOf, TextSpec } from '../app/protocol';
import type { ScoreStore } from '../app/score-cache';
import { modelSpec, nodeHost, readTextFile, UsageError } from '../node/host';
import { defaultScoreCacheDir, fileScoreStore } from '../node/score-cache-files';
import { WEIGHT_FORMATS, type WeightFormat } from '../quant/formats';
import { memoryPlan, type MemoryPlan } from '../quant/memory-plan';
import { progressBar, table } from './format';
import { maskFor, selection } from './selection';
import { parseFiles, parseHubFiles, TASK_CHOICES, taskSpecs, taskTableText } from './tasks-options';
import { TaskDataError } from '../tasks/types';
import { taskTableCsv } from '../tasks/results';

interface Globals {
  json?: boolean;
  hubHost?: string;
  quiet?: boolean;
  weights: WeightFormat;
  quantizeEmbeddings?: boolean;
}

const int = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};
const num = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!(n >= min && n <= max)) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
  return n;
};
const protectList = (v: string) => {
  const list = v === '' || v === 'none' ? [] : v.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n))) throw new InvalidArgumentError('--protect takes comma-separated block indices (negative from the end), or "none"');
  return list;
};

/** Aborted when stdout is closed by its reader: every engine job runs under it. */
const stdoutGone = new AbortController();

/** Loads the model and runs requests against it, with progress on stderr. */
class Session {
  private constructor(readonly lab: LabEngine, readonly info: ModelInfo, private readonly g: Globals) {}

  static async open(model: string, g: Globals, scoreStore?: ScoreStore): Promise<Session> {
    const spec = modelSpec(model, g.hubHost, process.env.HF_TOKEN);
    const lab = new LabEngine(await acquireNodeDevice('cli'), scoreStore ? { ...nodeHost, scoreStore } : nodeHost);
    const info = await lab.load(spec, stdoutGone.signal, progressBar('loading', g.quiet), { format: g.weights, embeddings: g.quantizeEmbeddings });
    return new Session(lab, info, g);
  }

  run<R extends EngineRequest>(request: R, what: string): Promise<ReplyOf<R['type']>> {
    return this.lab.handle(request, {
      signal: stdoutGone.signal,
      progress: progressBar(what, this.g.quiet),
      token: (text) => (this.g.json ? undefined : process.stdout.write(text)),
    });
  }

  /** The plan of a mask (checked against this model), or the full model. */
  planFromMask(mask: PruningMask | undefined): { kept: number[]; removed: number[] } {
    const L = this.info.numLayers;
    if (!mask) return { kept: planWithout(L, []), removed: [] };
    const mismatch = modelIssues(mask, { fingerprint: this.info.fingerprint, numLayers: L, architecture: this.info.architecture });
    if (mismatch.length) throw new MaskError(mismatch, 'the pruning mask does not fit the loaded model');
    return { kept: [...mask.kept], removed: [...mask.removed] };
  }

  /** Says on stderr when windows are longer than the context the model was trained for. */
  warnContext(tokens: number, what: string): void {
    const limit = this.info.maxPositionEmbeddings;
    if (tokens > limit) process.stderr.write(`warning: ${what} of ${tokens} tokens exceed the model's max_position_embeddings (${limit}): positions past it were never trained\n`);
  }
}

/** A --mask file, its structure validated before any model loads (its fit to the model after). */
async function readMask(path: string | undefined): Promise<PruningMask | undefined> {
  return path ? parseMask(await readTextFile(path, 'mask')) : undefined;
}

/** A text file option (.jsonl converted as the page converts it), or the embedded text. */
async function textSpec(path: string | undefined, fallback: 'calibration' | 'heldout'): Promise<TextSpec> {
  if (!path) return { kind: 'embedded', name: fallback };
  return { kind: 'inline', name: basename(path), text: uploadedText(path, await readTextFile(path, 'text')) };
}

function print(g: Globals, json: unknown, human: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(json, null, 2)}\n` : `${human()}\n`);
}

function scoreTable(info: ModelInfo, results: CriterionResult[], protectedSet: Set<number>): string {
  const rows = Array.from({ length: info.numLayers }, (_, b) => [
    String(b) + (protectedSet.has(b) ? ' *' : ''),
    ...results.flatMap((r) => [finiteOrNull(r.scores[b])?.toPrecision(6) ?? '-', String(r.ranking.indexOf(b) + 1)]),
  ]);
  const times = results.map((r) => (r.cached ? `${r.criterion} cached (computed in ${r.seconds.toFixed(1)} s)` : `${r.criterion} ${r.seconds.toFixed(1)} s`));
  return table(['block', ...results.flatMap((r) => [r.criterion, 'rank'])], rows) + (protectedSet.size ? '\n* protected' : '') + `\ntime: ${times.join(', ')}`;
}

const program = new Command()
  .name('depth-pruning-lab')
  .description('Depth pruning of LLaMA models on WebGPU: score blocks, prune, measure perplexity and speed.')
  .option('--json', 'machine-readable output on stdout')
  .option('--hub-host <url>', 'Hugging Face Hub host (a mirror or a local server)')
  .option('-q, --quiet', 'no progress on stderr')
  .addOption(new Option('--weights <format>', 'weight format on the GPU: float (as stored), q8 or q4 (see info --plan)').choices(WEIGHT_FORMATS.map((f) => f.id)).default('float'))
  .option('--quantize-embeddings', 'with q8 / q4: quantize the embedding and LM head too (default: block linears only)')
  .showHelpAfterError()
  .exitOverride();

const modelArg = '<model>';
const modelHelp = 'a checkpoint folder, "embedded", or a Hub id owner/name[@revision] (token from HF_TOKEN)';

program
  .command('info')
  .description('config, parameter count, adapter and GPU memory estimate (reads headers only)')
  .argument(modelArg, modelHelp)
  .option('--plan', 'the memory plan: GPU bytes per weight format (weights, KV cache, workspaces) against this adapter')
  .option('--context <tokens>', 'KV cache length for --plan (default: 2048 or the model\'s limit)', int('--context'))
  .action(async (model: string, o: { plan?: boolean; context?: number }) => {
    const g = program.opts<Globals>();
    const gpu = await acquireNodeDevice('cli');
    const spec = modelSpec(model, g.hubHost, process.env.HF_TOKEN);
    const index = await inspectCheckpoint(nodeHost.source(spec));
    const estimate = estimateGpuMemory(index, gpu.device.limits);
    const c = index.config;
    const parameters = index.planned.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    const source = describeModelArg(spec);
    const plan = o.plan ? memoryPlan(c, gpu.device.limits, { context: o.context, embeddings: g.quantizeEmbeddings }) : undefined;
    const out = { source, config: c, parameters, adapter: describeAdapter(gpu.adapter), memory: estimate, layoutFingerprint: index.layoutFingerprint, ...(plan ? { plan } : {}) };
    print(g, out, () => (plan ? `${planTable(plan)}\n\n` : '') + table(['field', 'value'], [
      ['source', source.text], ['architecture', c.architecture], ['family', [c.family, ...familyDifferences(c)].join('; ')], ['blocks', String(c.numLayers)], ['hidden', String(c.hiddenSize)], ['intermediate', String(c.intermediateSize)],
      ['heads / kv heads', `${c.numHeads} / ${c.numKvHeads}`], ['head_dim', String(c.headDim)], ['vocab', String(c.vocabSize)],
      ['parameters', `${(parameters / 1e6).toFixed(2)} M`], ['GPU memory (est.)', `${(estimate.totalBytes / 2 ** 20).toFixed(1)} MiB`],
      ['largest tensor', `${estimate.largestTensor} (${(estimate.largestBytes / 2 ** 20).toFixed(1)} MiB)`], ['adapter', out.adapter],
    ]));
    gpu.device.destroy();
  });

/** The memory plan as a table: one row per format, GiB. */
function planTable(plan: MemoryPlan): string {
  const [unit, scale] = Math.max(...plan.formats.map((f) => f.peak)) < 2 ** 30 ? ['MiB', 2 ** 20] : ['GiB', 2 ** 30];
  const gib = (n: number) => (n / scale).toFixed(2);
  const rows = plan.formats.map((f) => [
    f.format + (f.format === plan.recommended ? ' *' : ''), gib(f.weights), gib(f.kvCache), gib(f.activations), gib(f.scoring), gib(f.training), gib(f.peak),
    f.fits ? 'yes' : `no: ${f.reason}`,
  ]);
  return `memory plan (${unit}; KV cache for ${plan.context} tokens; budget ${(plan.budgetBytes / 2 ** 30).toFixed(2)} GiB; * recommended)\n` +
    table(['format', 'weights', 'kv cache', 'activations', 'scoring', 'training', 'peak', 'fits'], rows);
}

/** How a model argument was read (an existing path is a folder before it is a Hub id). */
function describeModelArg(spec: ReturnType<typeof modelSpec>): { kind: string; text: string } {
  switch (spec.kind) {
    case 'folder':
      return { kind: 'folder', text: `folder ${spec.path} (an existing path is read as a folder, not a Hub id)` };
    case 'hub':
      return { kind: 'hub', text: `Hub ${spec.id}@${spec.revision ?? 'main'}${spec.host ? ` on ${spec.host}` : ''}` };
    default:
      return { kind: spec.kind, text: `the embedded model (${'name' in spec ? spec.name : ''})` };
  }
}

const calibrationOptions = (cmd: Command) =>
  cmd
    .option('--calib <file>', 'calibration text (.txt with blank-line-separated documents, or .jsonl with "text")')
    .option('-n, --samples <n>', 'calibration samples', int('--samples'), 10)
    .option('-t, --seq-len <t>', 'tokens per sample', int('--seq-len', 2), 128)
    .option('--seed <n>', 'sampling seed', int('--seed', 0), 1234)
    .addOption(new Option('--bos <mode>', 'BOS on the first window of a document only, or on every sample').choices(['first', 'every']).default('first'))
    .option('--protect <list>', 'never-removed blocks, negative from the end ("none" for no protection)', protectList, SEED_PROTECTED);

interface CalibOpts { calib?: string; samples: number; seqLen: number; seed: number; bos: 'first' | 'every'; protect: number[] }

const cacheDirOption = () => new Option('--cache-dir <dir>', 'score cache folder').default(defaultScoreCacheDir());
const cacheOptions = (cmd: Command) =>
  cmd
    .option('--no-cache', 'recompute: neither read nor write the score cache')
    .addOption(cacheDirOption());

interface CacheOpts { cache: boolean; cacheDir: string }

/** The score cache for these options (none with --no-cache); a folder that cannot be made is bad input. */
async function scoreStore(o: CacheOpts): Promise<ScoreStore | undefined> {
  if (!o.cache) return undefined;
  try {
    await mkdir(o.cacheDir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot use score cache folder ${o.cacheDir}: ${(e as Error).message}`);
  }
  return fileScoreStore(o.cacheDir);
}

async function scoreWith(s: Session, criteria: ScoredCriterion[], o: CalibOpts, k: number, text: TextSpec) {
  s.warnContext(o.seqLen, 'calibration samples');
  return s.run({
    type: 'score', criteria, k, protect: resolveProtected(o.protect, s.info.numLayers),
    calibration: { text, n: o.samples, t: o.seqLen, seed: o.seed, bos: o.bos },
  }, 'scoring');
}

cacheOptions(calibrationOptions(
  program
    .command('score')
    .description('per-block importance scores and ranking (cached: a repeated run reads the earlier result); --out writes a pruning mask')
    .argument(modelArg, modelHelp)
    .addOption(new Option('--criterion <c...>', 'criteria to compute').choices(CRITERION_IDS).default(['ppl']))
    .option('--ratio <r>', 'fraction of blocks the mask removes', num('--ratio', 0, 1), 0.2)
    .option('--out <mask.json>', 'write a pruning mask for the first criterion'),
)).action(async (model: string, o: CalibOpts & CacheOpts & { criterion: ScoredCriterion[]; ratio: number; out?: string }) => {
  const g = program.opts<Globals>();
  if (o.out !== undefined) await checkOutputFile(o.out);
  const text = await textSpec(o.calib, 'calibration');
  const s = await Session.open(model, g, await scoreStore(o));
  const k = blocksForRatio(o.ratio, s.info.numLayers);
  const scored = await scoreWith(s, o.criterion, o, k, text);
  const main = scored.results[0]!;
  const sel = selection(main, k, o.protect, s.info.numLayers);
  if (sel.warning) process.stderr.write(`warning: ${sel.warning}\n`);
  const mask = maskFor(s.info, scored, main.criterion, sel.removed, o.protect);
  if (o.out) writeFileSync(o.out, serializeMask(mask));
  const protectedSet = new Set(resolveProtected(o.protect, s.info.numLayers));
  print(g, { model: s.info, calibration: scored.calibration, results: scored.results, removed: sel.removed, mask: o.out ?? null }, () =>
    `${scoreTable(s.info, scored.results, protectedSet)}\nremove ${k} of ${s.info.numLayers} by ${main.criterion}: [${sel.removed.join(', ')}]${o.out ? `\nmask written to ${o.out}` : ''}`);
  s.lab.dispose();
});

cacheOptions(calibrationOptions(
  program
    .command('prune')
    .description('write the pruned checkpoint (HF layout) for a mask, or for a criterion and ratio')
    .argument(modelArg, modelHelp)
    .option('--mask <mask.json>', 'a pruning mask for this model')
    .addOption(new Option('--criterion <c>', 'score with this criterion instead of a mask').choices(CRITERION_IDS))
    .option('--ratio <r>', 'fraction of blocks to remove with --criterion', num('--ratio', 0, 1), 0.2)
    .option('--f16', 'store weights as F16 (default: the source dtype)')
    .requiredOption('--out <folder>', 'output folder (must be empty or new; written beside it first and renamed when complete)'),
)).action(async (model: string, o: CalibOpts & CacheOpts & { mask?: string; criterion?: ScoredCriterion; ratio: number; f16?: boolean; out: string }) => {
  const g = program.opts<Globals>();
  if (!o.mask === !o.criterion) throw new UsageError('prune needs exactly one of --mask or --criterion');
  // Everything the user gave is checked before the model loads.
  await checkOutputFolder(o.out);
  const fromFile = await readMask(o.mask);
  const text = o.criterion ? await textSpec(o.calib, 'calibration') : undefined;
  const s = await Session.open(model, g, o.criterion ? await scoreStore(o) : undefined);
  let mask: PruningMask;
  if (fromFile) {
    s.planFromMask(fromFile);
    mask = fromFile;
  } else {
    const k = blocksForRatio(o.ratio, s.info.numLayers);
    const scored = await scoreWith(s, [o.criterion!], o, k, text!);
    const sel = selection(scored.results[0]!, k, o.protect, s.info.numLayers);
    mask = maskFor(s.info, scored, o.criterion!, sel.removed, o.protect);
  }
  const kept = [...mask.kept];
  const spec = modelSpec(model, g.hubHost, process.env.HF_TOKEN);
  const index = await inspectCheckpoint(nodeHost.source(spec));
  // The mask goes in as pruning_mask.json (which a later re-pruning of this folder never copies).
  const result = await stagedFolderExport(o.out, async (sink) => exportPrunedCheckpoint({
    source: await exportSourceFromIndex(index), sink, kept, mask, toF16: Boolean(o.f16),
    onProgress: (p) => progressBar('writing', g.quiet)({ done: p.bytesDone, total: p.bytesTotal, what: p.file }),
  }));
  const llamaCpp = llamaCppPruneCommand(mask.removed);
  print(g, { out: o.out, kept, removed: mask.removed, files: result.files, llamaCpp }, () =>
    `wrote ${o.out}: ${kept.length} of ${s.info.numLayers} blocks kept [${kept.join(', ')}]\n` +
    `the same cut for a GGUF file with llama.cpp:\n  ${llamaCpp}\n  (${LLAMA_CPP_TYPE_HINT})`);
  s.lab.dispose();
});

program
  .command('ppl')
  .description("perplexity by the seed's protocol (non-overlapping windows, remainder dropped)")
  .argument(modelArg, modelHelp)
  .option('--mask <mask.json>', 'evaluate the pruned plan too')
  .option('--text <file>', 'evaluation text (default: the embedded held-out KJV books)')
  .option('--window <t>', 'tokens per window', int('--window', 2), 128)
  .addOption(new Option('--bos <mode>', 'BOS at the stream start only, or on every window').choices(['first', 'every']).default('first'))
  .option('--max-windows <n>', 'evaluate only the first n windows', int('--max-windows'))
  .action(async (model: string, o: { mask?: string; text?: string; window: number; bos: 'first' | 'every'; maxWindows?: number }) => {
    const g = program.opts<Globals>();
    const mask = await readMask(o.mask);
    const text = await textSpec(o.text, 'heldout');
    const s = await Session.open(model, g);
    const { kept } = s.planFromMask(mask);
    s.warnContext(o.window, 'evaluation windows');
    const plans = o.mask ? [planWithout(s.info.numLayers, []), kept] : [kept];
    const r = await s.run({ type: 'perplexity', text, window: o.window, bos: o.bos, plans, ...(o.maxWindows ? { maxWindows: o.maxWindows } : {}) }, 'perplexity');
    print(g, { text: r.textName, textSha256: r.textSha256, window: o.window, bos: o.bos, plans, results: r.results }, () =>
      table(['plan', 'blocks', 'PPL', 'windows'], r.results.map((x, i) => [i === 0 ? 'original' : 'pruned', String(plans[i]!.length), x.ppl.toFixed(2), x.windowsAvailable && x.windowsAvailable > x.windows ? `${x.windows} of ${x.windowsAvailable}` : String(x.windows)])));
    s.lab.dispose();
  });

cacheOptions(calibrationOptions(
  program
    .command('sweep')
    .description("the quality-speed frontier: each criterion's plan for k = 0..K, its held-out perplexity and memory-bound ideal speedup")
    .argument(modelArg, modelHelp)
    .addOption(new Option('--criterion <c...>', 'criteria to sweep').choices(CRITERION_IDS).default(['ppl', 'taylor']))
    .option('--max-k <k>', 'largest number of blocks removed (default: half of the blocks, at most the unprotected ones)', int('--max-k', 0))
    .option('--windows <n>', 'held-out windows per plan', int('--windows'), DEFAULT_SWEEP_WINDOWS)
    .option('--text <file>', 'evaluation text (default: the embedded held-out KJV books)')
    .option('--window <t>', 'tokens per window', int('--window', 2), 128)
    .option('--csv', 'CSV on stdout'),
)).action(async (model: string, o: CalibOpts & CacheOpts & { criterion: ScoredCriterion[]; maxK?: number; windows: number; text?: string; window: number; csv?: boolean }) => {
  const g = program.opts<Globals>();
  if (g.json && o.csv) throw new UsageError('sweep takes one of --json or --csv');
  const calib = await textSpec(o.calib, 'calibration');
  const heldout = await textSpec(o.text, 'heldout');
  const s = await Session.open(model, g, await scoreStore(o));
  const L = s.info.numLayers;
  const scored = await scoreWith(s, o.criterion, o, sweepK(L, o.protect, o.maxK), calib);
  const criteria = scored.results.map((r) => ({ criterion: r.criterion, scores: r.scores, ...(Array.isArray(r.detail.windows) ? { windows: r.detail.windows as number[][] } : {}) }));
  const { sweep } = await s.run({
    type: 'sweep', criteria, protect: o.protect, ...(o.maxK !== undefined ? { maxK: o.maxK } : {}),
    text: heldout, window: o.window, bos: o.bos, maxWindows: o.windows,
  }, 'sweep');
  for (const line of sweep.lines) if (line.stopped) process.stderr.write(`warning: ${line.criterion} stops at k = ${line.points.length - 1}: ${line.stopped}\n`);
  const rows = sweepRows(sweep);
  if (o.csv) process.stdout.write(sweepCsv(rows));
  else print(g, { model: s.info, calibration: scored.calibration, sweep, rows }, () =>
    table(['criterion', 'k', 'removed', 'PPL', 'ideal speedup'], rows.map((r) => [r.criterion, String(r.k), r.removed.join(',') || '-', r.ppl.toFixed(3), `${r.idealSpeedup.toFixed(3)}x`])) +
      `\n${sweep.plans.length} distinct plans on ${sweep.windows} windows of ${sweep.window} tokens (${sweep.textName}); block runs ${sweep.blockRuns} with the residual prefix reused vs ${sweep.blockRunsWithoutReuse} plain; ${sweep.seconds.toFixed(1)} s`);
  s.lab.dispose();
});

program
  .command('generate')
  .description('stream generated text to stdout with tokens/s')
  .argument(modelArg, modelHelp)
  .option('--mask <mask.json>', 'generate with the pruned plan')
  .requiredOption('--prompt <text>', 'the prompt')
  .option('--max-tokens <n>', 'new tokens at most', int('--max-tokens'), 64)
  .option('--temperature <t>', 'sampling temperature (0 = greedy)', num('--temperature', 0, 100), 1)
  .option('--top-k <k>', 'top-k (0 = off)', int('--top-k', 0), 50)
  .option('--top-p <p>', 'nucleus top-p', num('--top-p', 0, 1), 0.95)
  .option('--repetition-penalty <p>', 'divide the logits of tokens already in the text by p (1 = off; HF repetition_penalty)', num('--repetition-penalty', 0.01, 100), 1)
  .option('--seed <n>', 'sampling seed', int('--seed', 0), 0)
  .action(async (model: string, o: { mask?: string; prompt: string; maxTokens: number; temperature: number; topK: number; topP: number; repetitionPenalty: number; seed: number }) => {
    const g = program.opts<Globals>();
    const mask = await readMask(o.mask);
    const s = await Session.open(model, { ...g, quiet: true });
    const { kept } = s.planFromMask(mask);
    if (!g.json) process.stdout.write(o.prompt);
    const r = await s.run({ type: 'generate', prompt: o.prompt, plan: kept, maxNewTokens: o.maxTokens, sampling: { temperature: o.temperature, topK: o.topK, topP: o.topP, repetitionPenalty: o.repetitionPenalty }, seed: o.seed }, 'generating');
    const decodeTps = r.tokens > 1 ? ((r.tokens - 1) / r.decodeMs) * 1000 : NaN;
    print(g, { ...r, blocks: kept.length, decodeTokensPerS: decodeTps }, () => `\n\n[${r.tokens} tokens, ${kept.length} blocks: prefill ${r.prefillMs.toFixed(0)} ms, decode ${decodeTps.toFixed(1)} tok/s]`);
    s.lab.dispose();
  });

program
  .command('heal')
  .description('train LoRA adapters on a pruned plan (dropped blocks stay dropped) and write a PEFT adapter folder')
  .argument(modelArg, modelHelp)
  .option('--mask <mask.json>', 'the pruned plan to heal (default: the full model)')
  .option('--data <file>', 'training data: plain text, or .jsonl rows with "text" or Alpaca "instruction"/"input"/"output" (prompt masked from the loss); default: the embedded KJV calibration text')
  .requiredOption('--out <folder>', 'adapter folder: adapter_config.json, adapter_model.safetensors, heal-log.json, heal-recipe.json, and with --mask pruning_mask.json with the healing record')
  .option('--steps <n>', 'optimizer steps', int('--steps'), HEAL_DEFAULTS.steps)
  .option('--lr <lr>', 'peak learning rate', num('--lr', 0, 1), HEAL_DEFAULTS.lr)
  .option('--warmup <n>', 'linear warm-up steps', int('--warmup', 0), HEAL_DEFAULTS.warmupSteps)
  .option('--r <r>', 'LoRA rank', int('--r'), HEAL_DEFAULTS.r)
  .option('--alpha <a>', 'LoRA alpha (scale alpha / r)', num('--alpha', 0, 1e6), HEAL_DEFAULTS.alpha)
  .option('--dropout <p>', 'dropout on the adapter input', num('--dropout', 0, 0.99), HEAL_DEFAULTS.dropout)
  .option('--batch <n>', 'sequences per micro-batch', int('--batch'), HEAL_DEFAULTS.batch)
  .option('--micro <n>', 'micro-batches per optimizer step (gradient accumulation)', int('--micro'), HEAL_DEFAULTS.micro)
  .option('--window <t>', 'tokens per sequence', int('--window', 2), HEAL_DEFAULTS.window)
  .option('--seed <n>', 'seed of the adapter init, data order and dropout', int('--seed', 0), HEAL_DEFAULTS.seed)
  .option('--heldout <file>', 'held-out text for PPL (plain-text data; default: the embedded held-out KJV books)')
  .option('--heldout-windows <n>', 'held-out windows to evaluate (0: skip)', int('--heldout-windows', 0), 32)
  .option('--heldout-rows <n>', '.jsonl data: rows held out for evaluation (default: a tenth, at most 200)', int('--heldout-rows'))
  .option('--eval-every <n>', 'held-out evaluation every n steps, the best adapter kept (0: before and after only; default: a tenth of the steps)', int('--eval-every', 0))
  .option('--memory-budget <MiB>', 'GPU memory the run may take beside the weights; a run estimated above it is refused up front (default: 4 GiB or 4 x maxBufferSize)', int('--memory-budget'))
  .option('--merge-out <folder>', 'also write the pruned checkpoint with the adapters merged (W + alpha/r B A, in the checkpoint dtype); must be empty or new')
  .action(async (model: string, o: { mask?: string; data?: string; out: string; mergeOut?: string; steps: number; lr: number; warmup: number; r: number; alpha: number; dropout: number; batch: number; micro: number; window: number; seed: number; heldout?: string; heldoutWindows: number; heldoutRows?: number; evalEvery?: number; memoryBudget?: number }) => {
    const g = program.opts<Globals>();
    if (o.mergeOut !== undefined) {
      if (resolve(o.mergeOut) === resolve(o.out)) throw new UsageError('--merge-out must be another folder than --out');
      await checkOutputFolder(o.mergeOut);
    }
    // .jsonl goes as it is: the heal job reads its rows (Alpaca prompts masked), unlike other commands' text
    const content = o.data ? await readTextFile(o.data, 'data') : undefined;
    const data: TextSpec = o.data ? { kind: 'inline', name: basename(o.data), text: content! } : { kind: 'embedded', name: 'calibration' };
    if (o.data && /\.jsonl$/i.test(o.data)) {
      parseHealJsonl(basename(o.data), content!); // a bad row fails here, before the model loads
      if (o.heldout) process.stderr.write('warning: with .jsonl data the held-out set is a split of its rows (--heldout-rows); --heldout is not used\n');
    }
    const mask = await readMask(o.mask);
    const s = await Session.open(model, g);
    const { kept } = s.planFromMask(mask);
    const settings: HealSettings = {
      r: o.r, alpha: o.alpha, dropout: o.dropout, lr: o.lr, warmupSteps: o.warmup, steps: o.steps, batch: o.batch, micro: o.micro, window: o.window, seed: o.seed,
      ...(o.evalEvery !== undefined ? { evalEvery: o.evalEvery } : {}), ...(o.heldoutRows !== undefined ? { heldoutRows: o.heldoutRows } : {}),
      ...(o.memoryBudget !== undefined ? { memoryBudgetMiB: o.memoryBudget } : {}),
    };
    const heldout = o.heldoutWindows > 0 ? { heldout: await textSpec(o.heldout, 'heldout'), heldoutWindows: o.heldoutWindows } : {};
    const r = await s.run({ type: 'heal', plan: kept, text: data, settings, ...heldout }, 'healing');
    await mkdir(o.out, { recursive: true });
    writeFileSync(`${o.out}/adapter_config.json`, r.adapterConfig);
    writeFileSync(`${o.out}/adapter_model.safetensors`, r.adapterSafetensors);
    const log = {
      model, mask: o.mask ?? null, kept, settings, text: r.textName, textSha256: r.textSha256, data: r.data, windows: r.windows, tokensPerS: r.tokensPerS, trainSeconds: r.trainSeconds,
      heldout: r.heldout ?? null, evaluations: r.evaluations, losses: r.losses, stopped: r.stopped ?? null,
    };
    if (r.stopped) process.stderr.write(`warning: ${r.stopped.message}; writing the best adapter of the ${r.stopped.step} good steps\n`);
    writeFileSync(`${o.out}/heal-log.json`, `${JSON.stringify(log, null, 1)}\n`);
    writeFileSync(`${o.out}/heal-recipe.json`, `${JSON.stringify(healRecipe(settings, r.data, r.textSha256), null, 2)}\n`);
    // the mask with its healing record (version 2), beside the adapter and in the merged checkpoint
    const healed = mask && withHealing(mask, healingRecord(settings, {
      steps: r.losses.length, bestStep: r.heldout?.bestStep ?? r.losses.length, before: r.heldout?.before ?? null, after: r.heldout?.after ?? null,
    }, r.data, r.textSha256));
    if (healed) writeFileSync(`${o.out}/${MASK_FILE}`, serializeMask(healed));
    if (o.mergeOut) await exportMerged(model, g, o.mergeOut, kept, healed, r);
    const ppl = r.heldout ? `, held-out PPL ${r.heldout.before.toFixed(2)} -> ${r.heldout.after.toFixed(2)} (best at step ${r.heldout.bestStep})` : '';
    print(g, { out: o.out, mergeOut: o.mergeOut ?? null, ...log }, () => `wrote ${o.out}: ${r.stopped?.step ?? o.steps} steps, loss ${r.losses[0]!.toFixed(4)} -> ${r.losses.at(-1)!.toFixed(4)}${ppl}, ${r.tokensPerS.toFixed(1)} tokens/s${o.mergeOut ? `\nwrote ${o.mergeOut}: the pruned checkpoint with the adapters merged` : ''}`);
    s.lab.dispose();
  });

/** The pruned checkpoint with the healed adapters merged, staged beside `out` and renamed when complete. */
async function exportMerged(model: string, g: Globals, out: string, kept: number[], mask: PruningMask | undefined, healed: ReplyOf<'heal'>): Promise<void> {
  const { r, alpha, adapters } = parsePeftAdapter(healed.adapterConfig, healed.adapterSafetensors, kept);
  const index = await inspectCheckpoint(nodeHost.source(modelSpec(model, g.hubHost, process.env.HF_TOKEN)));
  await stagedFolderExport(out, async (sink) => exportPrunedCheckpoint({
    source: mergedExportSource(await exportSourceFromIndex(index), adapters, { r, alpha }), sink, kept, ...(mask ? { mask } : {}),
    onProgress: (p) => progressBar('merging', g.quiet)({ done: p.bytesDone, total: p.bytesTotal, what: p.file }),
  }));
}

/** `--compare-weights float,q8,q4` (or `all`): the registry's formats, each once. */
const formatList = (v: string): WeightFormat[] => {
  const ids = WEIGHT_FORMATS.map((f) => f.id);
  const list = v === 'all' ? ids : v.split(',').map((x) => x.trim());
  const bad = list.filter((x) => !ids.includes(x as WeightFormat));
  if (bad.length || list.length === 0) throw new InvalidArgumentError(`--compare-weights takes a comma-separated list of ${ids.join(', ')} (or all)`);
  return ids.filter((f) => list.includes(f));
};

/** The format comparison as a table: per format, full and pruned speed, bytes, and decode speed against float's byte ratio. */
function comparisonTable(c: FormatComparison): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(2);
  const pruned = c.plans.length > 1;
  const rows = c.formats.map((f) => {
    if (f.error) return [f.format, mib(f.bytesOnGpu), `failed: ${f.error}`];
    const [o, p] = f.results;
    const ratio = ratioToFloat(c, f, 0);
    return [
      f.format + (f.loaded ? ' (loaded)' : ''), mib(f.bytesOnGpu), mib(o!.weightBytesPerToken), o!.decodeTokensPerS.toFixed(1), o!.prefillTokensPerS.toFixed(1),
      ...(p ? [mib(p.weightBytesPerToken), p.decodeTokensPerS.toFixed(1), p.prefillTokensPerS.toFixed(1), `${speedup(o!, p).measured.toFixed(3)}x`, `${speedup(o!, p).ideal.toFixed(3)}x`] : []),
      ratio ? `${ratio.speed.toFixed(3)}x` : '-', ratio ? `${ratio.bytes.toFixed(3)}x` : '-', ratio ? ratio.ofBytes.toFixed(3) : '-',
    ];
  });
  const head = ['format', 'weights MiB', 'MiB/step', 'decode tok/s', 'prefill tok/s',
    ...(pruned ? ['pruned MiB/step', 'pruned decode', 'pruned prefill', 'speedup', 'ideal'] : []), 'decode vs float', 'bytes vs float', 'of byte ratio'];
  return table(head, rows) + '\nvs float: the original plan\'s decode tok/s over float\'s, float\'s bytes per step over the format\'s, and their quotient (1 = the whole byte saving)';
}

program
  .command('bench')
  .description('decode/prefill tokens/s, full and pruned, against the memory-bound ideal')
  .argument(modelArg, modelHelp)
  .option('--mask <mask.json>', 'the pruned plan (default: full model only)')
  .option('--prompt-tokens <n>', 'prompt length', int('--prompt-tokens'), 32)
  .option('--new-tokens <n>', 'forced output length', int('--new-tokens'), 128)
  .option('--warmup <n>', 'untimed runs', int('--warmup', 0), 2)
  .option('--runs <n>', 'timed runs (mean)', int('--runs'), 5)
  .option('--compare-weights <formats>', 'also measure in these weight formats (float,q8,q4 or all), each loaded beside the --weights model in turn', formatList)
  .action(async (model: string, o: { mask?: string; promptTokens: number; newTokens: number; warmup: number; runs: number; compareWeights?: WeightFormat[] }) => {
    const g = program.opts<Globals>();
    const mask = await readMask(o.mask);
    const s = await Session.open(model, g);
    const { kept } = s.planFromMask(mask);
    const plans = o.mask ? [planWithout(s.info.numLayers, []), kept] : [kept];
    const options = { promptTokens: o.promptTokens, newTokens: o.newTokens, warmup: o.warmup, runs: o.runs };
    if (o.compareWeights) {
      const { comparison } = await s.run({ type: 'compare-formats', formats: o.compareWeights, plans, options }, 'comparing formats');
      const adapter = comparison.formats.find((f) => f.results.length)?.results[0];
      print(g, { comparison }, () => comparisonTable(comparison) + (adapter ? `\ntiming: ${adapter.timing}\nadapter: ${adapter.adapter}` : ''));
      s.lab.dispose();
      return;
    }
    const r = await s.run({ type: 'benchmark', plans, options }, 'benchmark');
    const sp = r.results.length === 2 ? speedup(r.results[0]!, r.results[1]!) : undefined;
    print(g, { results: r.results, speedup: sp ?? null }, () =>
      table(['plan', 'blocks', 'prefill tok/s', 'decode tok/s', 'runs min-max', 'ms/token', 'wall decode tok/s', 'weight MiB/token'], r.results.map((x, i) => [
        i === 0 ? 'original' : 'pruned', String(x.blocks), x.prefillTokensPerS.toFixed(1), x.decodeTokensPerS.toFixed(1),
        `${Math.min(...x.decodeRunsTokensPerS).toFixed(1)}-${Math.max(...x.decodeRunsTokensPerS).toFixed(1)}`, x.msPerDecodeToken.toFixed(2),
        x.wall.decodeTokensPerS.toFixed(1), (x.weightBytesPerToken / 2 ** 20).toFixed(2),
      ])) + (sp ? `\ndecode speedup ${sp.measured.toFixed(3)}x (memory-bound ideal ${sp.ideal.toFixed(3)}x, ${(sp.ofIdeal * 100).toFixed(1)}% of ideal)` : '') +
        `\ntiming: ${r.results[0]!.timing} (wall clock beside it)\nadapter: ${r.results[0]!.adapter}`);
    s.lab.dispose();
  });

program
  .command('tasks')
  .description("zero-shot multiple-choice accuracy (lm-eval style) of the model and, with --mask, the pruned plan; the seed's zeroshot_acc.csv layout")
  .argument(modelArg, modelHelp)
  .option('--mask <mask.json>', 'evaluate the pruned plan too')
  .addOption(new Option('--task <t...>', 'tasks ("seed" = the seed\'s seven)').choices(TASK_CHOICES).makeOptionMandatory())
  .option('--file <task=path...>', "a task's data file (Parquet or JSONL in the dataset's columns; custom: context, choices, gold); default: the shipped file or the dataset's Parquet file on the Hub")
  .option('--hub-file <task=owner/name[@rev]:path...>', "another Hub dataset file for a task (default: the task's own, see the README)")
  .option('--limit <n>', 'the first n items of each task', int('--limit'))
  .option('--csv <file>', 'write the table as zeroshot_acc.csv')
  .action(async (model: string, o: { mask?: string; task: string[]; file?: string[]; hubFile?: string[]; limit?: number; csv?: string }) => {
    const g = program.opts<Globals>();
    const tasks = taskSpecs(o.task, parseFiles(o.file), { hubFiles: parseHubFiles(o.hubFile), ...(o.limit ? { limit: o.limit } : {}), ...(g.hubHost ? { hubHost: g.hubHost } : {}), ...(process.env.HF_TOKEN ? { token: process.env.HF_TOKEN } : {}) });
    const mask = await readMask(o.mask);
    const s = await Session.open(model, g);
    const { kept } = s.planFromMask(mask);
    const plans = [{ name: 'original', plan: planWithout(s.info.numLayers, []) }, ...(o.mask ? [{ name: 'pruned', plan: kept }] : [])];
    const r = await s.run({ type: 'tasks', tasks, plans }, 'tasks');
    if (o.csv) writeFileSync(o.csv, taskTableCsv(r.table));
    print(g, { ...r.table, csv: taskTableCsv(r.table) }, () => taskTableText(r.table));
    s.lab.dispose();
  });

program
  .command('clear-cache')
  .description('delete the cached criterion results that score and prune reuse')
  .addOption(cacheDirOption())
  .action(async (o: { cacheDir: string }) => {
    const g = program.opts<Globals>();
    await fileScoreStore(o.cacheDir).clear();
    print(g, { cleared: o.cacheDir }, () => `score cache cleared: ${o.cacheDir}`);
  });

/** Bad input exits 2, anything else 1; commander's help/version exit 0. */
export async function main(argv: string[]): Promise<number> {
  // `... | head`: a closed stdout cancels the running job, which then ends the command quietly
  // (exiting on the spot, with GPU work in flight, can crash Dawn's teardown).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutGone.abort();
  });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (stdoutGone.signal.aborted) return 0;
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const bad = e instanceof UsageError || e instanceof TaskDataError || e instanceof HealDataError || e instanceof MaskError || e instanceof CheckpointError || e instanceof CalibrationError || e instanceof OutputFolderError || e instanceof RangeError;
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return bad ? 2 : 1;
  }
}

main(process.argv).then((code) => process.exit(code));
