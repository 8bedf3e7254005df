import { fmtRate } from './format';
import type { PaneState } from './store';

/** One model's generated text, streaming, with its tokens/s. */
export function GenerationPane({ title, pane, testId }: { title: string; pane: PaneState | null; testId: string }) {
  return (
    <div className="gen-pane" data-testid={testId} aria-busy={pane?.running ?? false}>
      <h3>{title} <span className="muted">{pane ? `${pane.plan.length} blocks` : ''}</span></h3>
      <p className="gen-text" data-testid={`${testId}-text`} aria-live="polite">{pane?.text || (pane?.running ? '…' : '')}</p>
      <p className="gen-stats">
        <span data-testid={`${testId}-rate`}>{pane ? `${fmtRate(pane.tokPerS)} tok/s` : ''}</span>
        {pane ? ` · ${pane.tokens} tokens` : ''}
        {pane?.error && <span className="error-text"> · {pane.error}</span>}
      </p>
    </div>
  );
}
