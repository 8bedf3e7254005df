import { memo } from 'react';
import type { ScoredCriterion } from '../prune/criteria/registry';
import { fmtScore } from './format';
import { criterion } from '../prune/criteria/registry';
import { criterionLabel } from './store';

export interface BarInfo {
  criterion: ScoredCriterion;
  /** 0..1 within the criterion (min..max); null = not scored. */
  norm: number | null;
  raw: number | null;
  rank: number | null;
}

/** One block of the stack: a toggle button, its score bars, rank and protected badge. */
export const BlockRow = memo(function BlockRow({ index, removed, isProtected, rank, bars, onToggle }: {
  index: number; removed: boolean; isProtected: boolean; rank: number | null; bars: BarInfo[]; onToggle: (i: number) => void;
}) {
  const state = removed ? 'removed' : 'kept';
  return (
    <li className={`block ${state}`} data-testid={`block-${index}`} data-state={state}>
      <button
        type="button"
        className="block-toggle"
        aria-pressed={removed}
        aria-label={`Block ${index}: ${state}${isProtected ? ', protected' : ''}. ${removed ? 'Restore' : 'Remove'} it`}
        onClick={() => onToggle(index)}
      >
        <span className="block-index">{index}</span>
      </button>
      <span className="block-rank" title="rank by the selection criterion (1 = least important)">{rank !== null ? `#${rank}` : ''}</span>
      <span className="block-badges">{isProtected && <span className="badge protected" title="protected: never removed by a one-shot selection">protected</span>}{removed && <span className="badge removed-badge">removed</span>}</span>
      <span className="bars">
        {bars.map((b) => {
          const title = `${criterionLabel(b.criterion)}: ${fmtScore(b.raw)}${b.rank !== null ? ` (rank ${b.rank})` : ''}`;
          return (
            <span key={b.criterion} className="bar-track" title={title} aria-label={title} role="img" tabIndex={0} data-criterion={b.criterion} data-score={b.raw ?? ''}>
              <span className="bar" style={{ width: b.norm === null ? 0 : `${4 + 96 * b.norm}%`, background: criterion(b.criterion).color }} />
            </span>
          );
        })}
      </span>
    </li>
  );
});
