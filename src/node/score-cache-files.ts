/** Node's score cache: one JSON file per key in a folder (see src/app/score-cache.ts). */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { ScoreStore } from '../app/score-cache';

/** $XDG_CACHE_HOME/depth-pruning-lab/scores, else ~/.cache/depth-pruning-lab/scores. */
export function defaultScoreCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'depth-pruning-lab', 'scores');
}

const KEY = /^[0-9a-f]{64}$/;
const ENTRY = /^[0-9a-f]{64}\.json$/;

export function fileScoreStore(dir: string): ScoreStore {
  const file = (key: string) => {
    if (!KEY.test(key)) throw new Error(`not a score cache key: ${key}`);
    return join(dir, `${key}.json`);
  };
  return {
    async get(key) {
      try {
        return await readFile(file(key), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async set(key, text) {
      await mkdir(dir, { recursive: true });
      // Write then rename, so a concurrent reader never sees half an entry.
      const tmp = `${file(key)}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, file(key));
    },
    async clear() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      // Only the cache's own entries: --cache-dir may name a folder that holds other files.
      await Promise.all(names.filter((n) => ENTRY.test(n)).map((n) => rm(join(dir, n), { force: true })));
    },
  };
}
