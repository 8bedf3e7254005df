import { useEffect, useMemo } from 'react';
import type { ScoredCriterion } from '../prune/criteria/registry';
import { BlockRow, type BarInfo } from './BlockRow';
import { fmtCount } from './format';
import { PruneControls } from './PruneControls';
import { criterion, CRITERION_IDS } from '../prune/criteria/registry';
import { finiteOrNull, rankBlocks } from '../prune/criteria/ranking';
import { criterionLabel, currentRecord, keptBlocks, protectedBlocks, useLab } from './store';

/** The model as a vertical stack of its blocks, with scores, the plan, and its edits. */
export function BlocksPanel() {
  const model = useLab((s) => s.model);
  const record = useLab(currentRecord);
  const protectText = useLab((s) => s.settings.protectText);
  const selectCriterion = useLab((s) => s.settings.selectCriterion);
  const toggleBlock = useLab((s) => s.toggleBlock);
  const undo = useLab((s) => s.undo);
  const redo = useLab((s) => s.redo);

  // Ctrl/Cmd+Z undoes a plan edit, Ctrl/Cmd+Shift+Z or Ctrl+Y redoes it (not while typing in a field).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (!(e.ctrlKey || e.metaKey) || (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      const key = e.key.toLowerCase();
      if (key === 'z' && !e.shiftKey) undo();
      else if ((key === 'z' && e.shiftKey) || key === 'y') redo();
      else return;
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [undo, redo]);

  const L = model?.numLayers ?? 0;
  const computed = CRITERION_IDS.filter((c) => record.scores?.results[c]);
  const bars = useMemo(() => {
    const perBlock: BarInfo[][] = Array.from({ length: L }, () => []);
    const ranks: Partial<Record<ScoredCriterion, (number | null)[]>> = {};
    const logScaled: string[] = [];
    for (const c of computed) {
      const r = record.scores!.results[c]!;
      const vals = r.scores.map(finiteOrNull).filter((v): v is number => v !== null);
      // PPL: bars show log(PPL - full-model PPL), the cost of removing the block, so that block 0's
      // huge PPL does not flatten the rest; other positive scores spanning over 3x: log scale.
      const base = c === 'ppl' && r.fullPpl !== undefined && vals.every((v) => v >= r.fullPpl! * 0.5) ? r.fullPpl : undefined;
      const log = base !== undefined || (vals.length > 0 && Math.min(...vals) > 0 && Math.max(...vals) / Math.min(...vals) > 3);
      const f = (v: number) => (base !== undefined ? Math.log(Math.max(v - base, base * 1e-3)) : log ? Math.log(v) : v);
      if (base !== undefined) logScaled.push(`${criterionLabel(c)} (log of the increase over the full model's ${base.toFixed(2)})`);
      else if (log) logScaled.push(criterionLabel(c));
      const lo = Math.min(...vals.map(f));
      const hi = Math.max(...vals.map(f));
      const order = rankBlocks(r.scores);
      const rank: (number | null)[] = Array.from({ length: L }, () => null);
      order.forEach((b, i) => { if (r.scores[b] !== null) rank[b] = i + 1; });
      ranks[c] = rank;
      for (let b = 0; b < L; b++) {
        const v = r.scores[b] ?? null;
        perBlock[b]!.push({ criterion: c, raw: v, norm: v === null ? null : hi > lo ? (f(v) - lo) / (hi - lo) : 0.5, rank: rank[b] ?? null });
      }
    }
    return { perBlock, ranks, logScaled };
  }, [record.scores, L, computed.join(',')]);

  if (!model) return <section className="panel" aria-labelledby="blocks-h"><h2 id="blocks-h">Blocks</h2><p className="muted">Load a model to see its blocks.</p></section>;
  const removed = new Set(record.plan.removed);
  const prot = new Set(protectedBlocks(protectText, L));
  const kept = keptBlocks(L, record.plan.removed);
  const paramsRemoved = record.plan.removed.length * model.blockParameters;
  const rankBy = record.scores?.results[selectCriterion] ? bars.ranks[selectCriterion] : undefined;
  const protectedRemoved = record.plan.removed.filter((b) => prot.has(b));

  return (
    <section className="panel blocks-panel" aria-labelledby="blocks-h" data-testid="blocks-panel">
      <h2 id="blocks-h">Blocks</h2>
      {model.family && model.family !== 'llama' && model.familyDifferences?.length ? (
        <p className="muted" data-testid="blocks-family">{model.architecture}: {model.familyDifferences.join('; ')}</p>
      ) : null}
      <p className="counts" data-testid="plan-counts" aria-live="polite">
        <strong data-testid="removed-count">{record.plan.removed.length}</strong> of {L} blocks removed ·{' '}
        <strong>{fmtCount(paramsRemoved)}</strong> parameters removed ({((paramsRemoved / model.parameters) * 100).toFixed(1)}% of {fmtCount(model.parameters)}) ·
        by <span data-testid="plan-criterion">{criterionLabel(record.plan.criterion)}</span>
      </p>
      <PruneControls />
      <div className="row">
        <button type="button" onClick={undo} disabled={record.past.length === 0} data-testid="undo" title="Ctrl+Z">Undo</button>
        <button type="button" onClick={redo} disabled={record.future.length === 0} data-testid="redo" title="Ctrl+Shift+Z">Redo</button>
      </div>
      {computed.length > 0 && (
        <p className="legend">
          {computed.map((c) => (
            <span key={c} className="legend-item"><span className="swatch" style={{ background: criterion(c).color }} />{criterionLabel(c)}</span>
          ))}
          <span className="muted"> bars: per-criterion min → max{bars.logScaled.length ? ` (log scale: ${bars.logScaled.join(', ')})` : ''}; longer = more important; hover or focus a bar for its value</span>
        </p>
      )}
      {rankBy && <p className="muted" data-testid="rank-caption"><strong>#</strong> = rank by {criterionLabel(selectCriterion)}: 1 = least important, removed first.</p>}
      {protectedRemoved.length > 0 && (
        <p className="warning" role="status" data-testid="protected-removed">
          Protected block{protectedRemoved.length > 1 ? 's' : ''} {protectedRemoved.join(', ')} removed by hand: protection only keeps a block out of the one-shot selection.
        </p>
      )}
      <ol className="block-stack" aria-label="Blocks, input at the top" data-testid="block-stack">
        {Array.from({ length: L }, (_, i) => (
          <BlockRow key={i} index={i} removed={removed.has(i)} isProtected={prot.has(i)} rank={rankBy?.[i] ?? null} bars={bars.perBlock[i] ?? []} onToggle={toggleBlock} />
        ))}
      </ol>
      <p className="plan" data-testid="plan">Plan (kept blocks): <code>[{kept.join(', ')}]</code></p>
    </section>
  );
}
