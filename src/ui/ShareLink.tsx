import { useState } from 'react';
import { PresentButton } from './PresentationView';
import { shareFragment } from './share-link';
import { currentRecord, useLab } from './store';

/** Puts the experiment in the address (URL fragment) and copies the link (a local model cannot be shared); beside it, Present. */
export function ShareLink() {
  const [note, setNote] = useState('');
  const model = useLab((s) => s.model);
  const share = async () => {
    const s = useLab.getState();
    const fragment = shareFragment(s.source, s.settings, currentRecord(s).plan);
    if (!fragment) return setNote('A model from a local folder cannot travel in a link.');
    history.replaceState(null, '', fragment);
    try {
      await navigator.clipboard.writeText(location.href);
      setNote('Link copied: it opens this model, these settings and this plan.');
    } catch {
      setNote('The link is in the address bar.');
    }
  };
  return (
    <p className="share-link">
      <button type="button" disabled={!model} onClick={() => void share()} data-testid="share-link">Share link</button>{' '}
      <PresentButton />
      {note && <span className="muted" role="status"> {note}</span>}
    </p>
  );
}
