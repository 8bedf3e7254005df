import { useEffect, useState } from 'react';
import { checkpointCacheUsage, clearCheckpointCache } from '../io/cache';
import { fmtBytes } from './format';
import { anyJob, useLab } from './store';

/** What Hub downloads take in Cache Storage (re-read after every load), and a button to drop them. */
export function HubCache() {
  const model = useLab((s) => s.model);
  const loadError = useLab((s) => s.loadError);
  const busy = useLab(anyJob);
  const [usage, setUsage] = useState<{ bytes: number; entries: number } | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let alive = true;
    // No Cache Storage (an insecure origin) or no quota: nothing to show.
    checkpointCacheUsage().then((u) => alive && setUsage(u), () => alive && setUsage(null));
    return () => {
      alive = false;
    };
  }, [model, loadError, version]);
  if (!usage) return null;
  const clear = async () => {
    await clearCheckpointCache();
    setVersion((v) => v + 1);
  };
  return (
    <p className="muted" data-testid="hub-cache">
      Download cache: <span data-testid="hub-cache-size">{fmtBytes(usage.bytes)}</span>{' '}
      <button type="button" onClick={() => void clear()} disabled={busy || usage.entries === 0} data-testid="clear-hub-cache">Clear</button>
    </p>
  );
}
