/**
 * Mask export and import. src/prune/mask.ts (with ajv) is loaded on first use by a dynamic
 * import, so the first bundle stays small.
 */
import { criterion as criterionById, isCriterion, type ScoredCriterion } from '../prune/criteria/registry';
import { finiteOrNull } from '../prune/criteria/ranking';
import { followsSelection } from '../prune/criteria/selection';
import type { MaskMetrics, PruningMask } from '../prune/mask';
import { maskZeroShot } from '../tasks/results';
import { sweepRows } from '../app/sweep';
import { downloadBlob } from './lab-actions';
import { currentRecord, keptBlocks, planKey, useLab, type LabState, type PlanState } from './store';

const loadMask = () => import('../prune/mask');

/** The mask of the current plan: model, criterion (or manual), calibration, every score, metrics. */
export async function buildCurrentMask(s: LabState = useLab.getState()): Promise<PruningMask> {
  const { buildMask } = await loadMask();
  const model = s.model;
  if (!model) throw new Error('no model is loaded');
  const rec = currentRecord(s);
  const L = model.numLayers;
  const plan = rec.plan;
  const results = rec.scores?.results ?? {};
  const scores: Partial<Record<ScoredCriterion, (number | null)[]>> = {};
  for (const [name, r] of Object.entries(results)) if (r) scores[name as ScoredCriterion] = r.scores;
  // A hand edit may have removed a protected block: the mask then lists the rest as protected.
  const protectedBlocks = plan.protect.filter((b) => b < L && !plan.removed.includes(b));
  const named = plan.criterion === 'manual' ? undefined : results[plan.criterion];
  // The plan is written as its criterion's only while it still is that criterion's selection: its
  // scores may be gone, or recomputed on another calibration set since (then it is "manual").
  const own = named && plan.criterion !== 'manual' && followsSelection(criterionById(plan.criterion), plan.removed, named.ranking, protectedBlocks, L) ? named : undefined;
  const criterion = own ? plan.criterion : 'manual';
  const full = planKey(keptBlocks(L, []));
  const current = planKey(keptBlocks(L, plan.removed));
  const metrics: MaskMetrics = {};
  const ppl = rec.ppl;
  if (ppl && ppl.results[full] && ppl.results[current]) {
    const measured = ppl.results[current]!;
    metrics.perplexity = {
      protocol: { window: ppl.window, bos: ppl.bos },
      eval_text_sha256: ppl.textSha256,
      eval_text_description: ppl.textName,
      windows: measured.windows,
      ...(measured.windowsAvailable ? { windows_available: measured.windowsAvailable } : {}),
      before: finiteOrNull(ppl.results[full]!.ppl),
      after: finiteOrNull(ppl.results[current]!.ppl),
    };
  }
  const speed = rec.speed;
  if (speed && speed.results[full] && speed.results[current]) {
    const a = speed.results[full]!;
    const b = speed.results[current]!;
    metrics.speed = {
      adapter: a.adapter,
      decode_tokens_per_s: { before: finiteOrNull(a.decodeTokensPerS), after: finiteOrNull(b.decodeTokensPerS) },
      prefill_tokens_per_s: { before: finiteOrNull(a.prefillTokensPerS), after: finiteOrNull(b.prefillTokensPerS) },
      prompt_tokens: speed.options.promptTokens,
      new_tokens: speed.options.newTokens,
      batch: 1,
    };
  }
  // Task results of exactly the original and this plan (the Tasks panel's table).
  const tasks = rec.tasks;
  const zeroShot = tasks && tasks.planKeys.join('|') === `${full}|${current}` ? maskZeroShot(tasks.table) : undefined;
  if (zeroShot) metrics.zero_shot = zeroShot;
  const sweep = rec.frontier?.sweep;
  if (sweep) {
    metrics.sweep = {
      protocol: { window: sweep.window, bos: sweep.bos },
      eval_text_sha256: sweep.textSha256,
      eval_text_description: sweep.textName,
      windows: sweep.windows,
      points: sweepRows(sweep).map((r) => ({ criterion: r.criterion, k: r.k, removed: r.removed, ppl: finiteOrNull(r.ppl), ideal_speedup: r.idealSpeedup })),
    };
  }
  const usesData = Object.keys(scores).some((n) => isCriterion(n) && criterionById(n).needsData);
  return buildMask({
    model: { source: model.source, architecture: model.architecture, num_hidden_layers: L, fingerprint: model.fingerprint },
    criterion: {
      name: criterion,
      calibration: usesData && rec.scores?.calibration ? rec.scores.calibration : null,
      protected_blocks: protectedBlocks,
      weight_format: model.weightFormat,
    },
    scores,
    ...(own ? { ranking: own.ranking } : {}),
    removed: plan.removed,
    ...(Object.keys(metrics).length ? { metrics } : {}),
  });
}

export const maskFileName = (s: LabState) => `${(s.model?.name || 'model').replace(/[^\w.-]+/g, '_')}.pruning_mask.json`;

export async function downloadMask(): Promise<void> {
  const s = useLab.getState();
  try {
    const { serializeMask } = await loadMask();
    const mask = await buildCurrentMask(s);
    downloadBlob(new Blob([serializeMask(mask)], { type: 'application/json' }), maskFileName(s));
    s.setMaskMessage({ kind: 'ok', text: `Mask downloaded: ${mask.removed.length} of ${mask.model.num_hidden_layers} blocks removed (${mask.criterion.name}).` });
  } catch (err) {
    s.setMaskMessage({ kind: 'error', text: 'The mask could not be written.', issues: issueLines(err) });
  }
}

function issueLines(err: unknown): string[] {
  const issues = (err as { issues?: { path: string; message: string }[] }).issues;
  if (issues) return issues.map((i) => `${i.path || '(root)'}: ${i.message}`);
  return [err instanceof Error ? err.message : String(err)];
}

/**
 * Imports a mask for the loaded model: on any problem every issue is shown and nothing changes;
 * otherwise its plan becomes the current plan (undoable) and its scores join the computed ones.
 */
export async function importMaskText(text: string, fileName = 'mask'): Promise<boolean> {
  const s = useLab.getState();
  const model = s.model;
  if (!model) {
    s.setMaskMessage({ kind: 'error', text: 'Load a model before importing a mask.' });
    return false;
  }
  const { parseMask, MaskError } = await loadMask();
  let mask: PruningMask;
  try {
    mask = parseMask(text, { fingerprint: model.fingerprint, numLayers: model.numLayers, architecture: model.architecture });
  } catch (err) {
    const summary = err instanceof MaskError ? err.message.split('\n')[0]!.replace(/:$/, '') : 'cannot read pruning mask';
    s.setMaskMessage({ kind: 'error', text: `${fileName}: ${summary}. Nothing was changed.`, issues: issueLines(err) });
    return false;
  }
  const plan: PlanState = { removed: [...mask.removed], criterion: mask.criterion.name, protect: [...mask.criterion.protected_blocks] };
  const rec = currentRecord(s);
  const haveScores = Object.keys(rec.scores?.results ?? {}).length > 0;
  if (!haveScores && Object.keys(mask.scores).length) {
    // Scores from the mask, so its criterion can be shown and re-applied.
    const cal = mask.criterion.calibration;
    s.mergeScores(
      cal ? { textSha256: cal.text_sha256, description: cal.description, n: cal.num_samples, t: cal.seq_len, seed: cal.seed, bos: cal.bos } : null,
      Object.entries(mask.scores).map(([name, values]) => ({
        criterion: name as ScoredCriterion,
        scores: values ?? [],
        ranking: name === mask.criterion.name && mask.ranking.length ? mask.ranking : [],
        seconds: 0,
        detail: {},
      })),
    );
  }
  useLab.getState().applyPlan(plan);
  s.setMaskMessage({ kind: 'ok', text: `${fileName}: imported - ${mask.removed.length} of ${mask.model.num_hidden_layers} blocks removed (${mask.criterion.name}).` });
  return true;
}
