/**
 * The page's healing runs in IndexedDB (idb-keyval, a database of their own): per model fingerprint,
 * the trainer state after the last optimizer step (adapters and AdamW moments as Float32Arrays, kept
 * by structured clone), so a reload resumes where it stopped. Without IndexedDB (Node tests) it is
 * kept in memory.
 */
import { createStore, del, get, set } from 'idb-keyval';
import type { TrainerState } from '../heal/train';

export const HEAL_STATE_DB = 'depth-pruning-lab-heal';

export interface StoredHealState {
  /** The run the state belongs to (the page's heal record names it). */
  runId: string;
  state: TrainerState;
}

export interface HealStateStore {
  get(fingerprint: string): Promise<StoredHealState | undefined>;
  set(fingerprint: string, value: StoredHealState): Promise<void>;
  delete(fingerprint: string): Promise<void>;
}

export function healStateStore(): HealStateStore {
  if (typeof indexedDB === 'undefined') {
    const memory = new Map<string, StoredHealState>();
    return {
      get: async (fp) => memory.get(fp),
      set: async (fp, v) => void memory.set(fp, v),
      delete: async (fp) => void memory.delete(fp),
    };
  }
  const store = createStore(HEAL_STATE_DB, 'trainer');
  return {
    get: (fp) => get<StoredHealState>(fp, store),
    set: (fp, v) => set(fp, v, store),
    delete: (fp) => del(fp, store),
  };
}
