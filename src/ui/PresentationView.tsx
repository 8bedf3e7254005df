import { useEffect, useState } from 'react';
import { GenerationPane } from './GenerationPane';
import { runGeneration } from './lab-actions';
import { anyJob, currentRecord, useLab } from './store';

/**
 * For a live demo (the seed's side-by-side): the original and the pruned model's generations in
 * large type, each with its tokens/s, and the speedup between them; Escape or Close leaves.
 */
export function PresentationView({ onClose }: { onClose: () => void }) {
  const gen = useLab((s) => currentRecord(s).generation);
  const prompt = useLab((s) => s.settings.prompt);
  const model = useLab((s) => s.model);
  const busy = useLab(anyJob);
  useEffect(() => {
    const key = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  }, [onClose]);
  const a = gen?.original?.tokPerS;
  const b = gen?.pruned?.tokPerS;
  const speedup = a && b && !gen?.original?.running && !gen?.pruned?.running ? b / a : null;
  return (
    <div className="presentation" role="dialog" aria-modal="true" aria-label="Presentation" data-testid="presentation">
      <div className="presentation-bar">
        <span className="presentation-prompt">{prompt}</span>
        <button type="button" className="primary" disabled={!model || busy || !prompt} onClick={() => void runGeneration()} data-testid="present-generate">Generate</button>
        <button type="button" onClick={onClose} data-testid="present-close">Close</button>
      </div>
      <div className="presentation-speedup">
        <span className="big" data-testid="present-speedup">{speedup !== null ? `${speedup.toFixed(2)}×` : '–'}</span>
        <span className="muted"> tokens/s of the pruned model over the original</span>
      </div>
      <div className="gen-panes">
        <GenerationPane title="Original" prompt={gen?.prompt ?? ''} pane={gen?.original ?? null} testId="present-original" />
        <GenerationPane title="Pruned (current plan)" prompt={gen?.prompt ?? ''} pane={gen?.pruned ?? null} testId="present-pruned" />
      </div>
    </div>
  );
}

/** The header's button that opens the presentation view. */
export function PresentButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)} data-testid="present">Present</button>
      {open && <PresentationView onClose={() => setOpen(false)} />}
    </>
  );
}
