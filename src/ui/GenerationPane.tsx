import { fmtRate } from './format';
import type { PaneState } from './store';

/** One model's generated text, streaming, with its tokens/s. */
export function GenerationPane({ title, prompt, pane, testId, note }: { title: string; prompt: string; pane: PaneState | null; testId: string; note?: string }) {
  return (
    <div className="gen-pane" data-testid={testId} aria-busy={pane?.running ?? false}>
      <h3>{title} <span className="muted">{pane ? `${pane.plan.length} blocks` : ''}</span></h3>
      {note && <p className="warning" data-testid={`${testId}-note`}>{note}</p>}
      <p className="gen-text" aria-live="polite">
        {pane && <span className="gen-prompt">{prompt}</span>}
        <span data-testid={`${testId}-text`}>{pane?.text ?? ''}</span>
        {pane?.running && <span className="cursor" aria-hidden="true">▍</span>}
      </p>
      <p className="gen-stats">
        <span data-testid={`${testId}-rate`}>{pane ? `${fmtRate(pane.tokPerS)} tok/s` : ''}</span>
        {pane ? ` · ${pane.tokens} tokens` : ''}
        {pane?.warmupMs ? <span className="muted" title="The first generation of this prompt length compiled its GPU pipelines in a 2-token run first, not counted in tokens/s" data-testid={`${testId}-warmup`}> · warm-up {(pane.warmupMs / 1000).toFixed(1)} s, untimed</span> : null}
        {pane?.error && <span className="error-text"> · {pane.error}</span>}
      </p>
    </div>
  );
}
