/** Node reads take regular files only: a FIFO or a directory where a file belongs is refused at once, never waited on. */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectCheckpoint } from '../../src/io/checkpoint';
import { NotAFileError } from '../../src/io/errors';
import { readRegularFile } from '../../src/node/regular-files';
import { NodeFolderSource } from '../../src/node/folder-source';
import { makeSyntheticCheckpoint, writeCheckpointFiles } from '../helpers/synthetic-checkpoint';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dpl-node-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('regular files only', () => {
  it('a FIFO is refused without blocking; a regular file reads', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await expect(readRegularFile(fifo)).rejects.toThrow(NotAFileError);
    await expect(readRegularFile(fifo)).rejects.toThrow(/pipe is a FIFO, not a regular file/);
    await writeFile(join(dir, 'plain.txt'), 'text');
    expect(await readRegularFile(join(dir, 'plain.txt'))).toBe('text');
  });

  it('config.json as a FIFO or a directory fails fast with a checkpoint error', async () => {
    const files = makeSyntheticCheckpoint().files;
    for (const kind of ['fifo', 'dir'] as const) {
      const folder = join(dir, `ckpt-${kind}`);
      await writeCheckpointFiles(folder, new Map([...files].filter(([name]) => name !== 'config.json')));
      if (kind === 'fifo') execFileSync('mkfifo', [join(folder, 'config.json')]);
      else await mkdir(join(folder, 'config.json'));
      const t0 = performance.now();
      await expect(inspectCheckpoint(new NodeFolderSource(folder))).rejects.toThrow(NotAFileError);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
  });
});
