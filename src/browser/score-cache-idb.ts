/** The browser's score cache: one IndexedDB database (idb-keyval), shared by the worker and the page. */
import { clear, createStore, get, keys, set } from 'idb-keyval';
import type { ScoreStore } from '../app/score-cache';

export const SCORE_CACHE_DB = 'depth-pruning-lab-scores';

export function idbScoreStore(): ScoreStore & { count(): Promise<number> } {
  const store = createStore(SCORE_CACHE_DB, 'results');
  return {
    get: (key) => get(key, store),
    set: (key, text) => set(key, text, store),
    clear: () => clear(store),
    /** Entries held (the page shows it beside the clear button). */
    count: async () => (await keys(store)).length,
  };
}
