/** An export into a folder is staged beside it and renamed when complete: a failure leaves nothing a retry would trip on. */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointSink } from '../../src/export/checkpoint';
import { checkOutputFolder, OutputFolderError, stagedFolderExport } from '../../src/node/folder-export';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dpl-staged-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function writeFileTo(sink: CheckpointSink, name: string, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  const f = await sink.create(name, bytes.byteLength);
  await f.write(bytes);
  await f.close();
}

describe('staged folder export', () => {
  it('a failure midway (disk full, an error) leaves neither the target nor the staging folder; the retry succeeds', async () => {
    const target = join(dir, 'out');
    const failed = await stagedFolderExport(target, async (sink) => {
      await writeFileTo(sink, 'model.safetensors', 'weights');
      throw new Error('ENOSPC: no space left on device');
    }).catch((e: unknown) => e);
    expect((failed as Error).message).toMatch(/ENOSPC/);
    expect(await readdir(dir)).toEqual([]);
    await stagedFolderExport(target, (sink) => writeFileTo(sink, 'config.json', '{}'));
    expect(await readdir(dir)).toEqual(['out']);
    expect(await readFile(join(target, 'config.json'), 'utf8')).toBe('{}');
  });

  it('an existing empty folder is replaced; a file, a non-empty folder or an empty name is bad input', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await stagedFolderExport(empty, (sink) => writeFileTo(sink, 'a.json', '1'));
    expect(await readdir(empty)).toEqual(['a.json']);
    await writeFile(join(dir, 'file'), 'x');
    for (const bad of [empty, join(dir, 'file'), '', '  ']) await expect(checkOutputFolder(bad)).rejects.toBeInstanceOf(OutputFolderError);
    await expect(checkOutputFolder(join(dir, 'new'))).resolves.toBeUndefined();
  });
});
