import { useEffect, useState } from 'react';
import { idbScoreStore } from '../browser/score-cache-idb';
import { anyJob, useLab } from './store';

const store = idbScoreStore();
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The engine's score cache (IndexedDB, written by the worker): how many results it holds, and a
 * button that clears it so the next run computes every criterion again. The scores on the page
 * stay: they are the page's state, not the cache.
 */
export function ScoreCacheButton() {
  const busy = useLab(anyJob);
  const [entries, setEntries] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A finished job may have added results: count again whenever the engine goes idle.
  useEffect(() => {
    if (busy) return;
    let live = true;
    store.count().then((n) => live && setEntries(n), () => live && setEntries(null));
    return () => {
      live = false;
    };
  }, [busy]);
  const clear = async () => {
    try {
      await store.clear();
      setEntries(0);
      setError(null);
    } catch (err) {
      setError(`Could not clear the score cache: ${message(err)}`);
    }
  };
  return (
    <>
      <button type="button" disabled={busy || entries === 0} onClick={() => void clear()} title="Criterion results are cached per model, calibration and settings" data-testid="clear-score-cache">
        Clear score cache
      </button>
      {entries !== null && <span className="muted" data-testid="score-cache-size">{entries === 1 ? '1 cached result' : `${entries} cached results`}</span>}
      {error && <span className="error-text" role="alert">{error}</span>}
    </>
  );
}
