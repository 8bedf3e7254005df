/** The `tasks` command's inputs: task ids ("seed" = the seven), data files per task, Hub files. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFiles, parseHubFiles, taskSpecs } from '../../src/cli/tasks-options';

describe('tasks command options', () => {
  it('expands "seed" to the seven in the seed table order and picks each task its data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpl-task-opts-'));
    writeFileSync(join(dir, 'b.parquet'), 'PAR1');
    const specs = taskSpecs(['seed', 'kjv_last_word', 'piqa'], parseFiles([`boolq=${join(dir, 'b.parquet')}`]), {
      limit: 5, hubHost: 'http://127.0.0.1:9', hubFiles: parseHubFiles(['hellaswag=Rowan/hellaswag@main:data/validation.parquet']),
    });
    expect(specs.map((s) => s.task)).toEqual(['boolq', 'piqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa', 'kjv_last_word']);
    expect(specs[0]!.data).toMatchObject({ kind: 'upload', name: 'b.parquet' });
    expect(specs[1]!.data).toEqual({ kind: 'hub', host: 'http://127.0.0.1:9' });
    expect(specs[2]!.data).toEqual({ kind: 'hub', dataset: 'Rowan/hellaswag', revision: 'main', file: 'data/validation.parquet', host: 'http://127.0.0.1:9' });
    expect(specs[7]!.data).toEqual({ kind: 'embedded' });
    expect(specs.every((s) => s.limit === 5)).toBe(true);
  });

  it('refuses what cannot run', () => {
    expect(() => taskSpecs(['custom'], new Map(), {})).toThrow(/custom needs a file/);
    expect(() => taskSpecs(['piqa'], parseFiles(['boolq=x.parquet']), {})).toThrow(/--file or --hub-file names boolq, which is not among --task/);
    expect(() => parseFiles(['nope=x.jsonl'])).toThrow(/--file takes task=path/);
    expect(() => parseHubFiles(['piqa=ybisk'])).toThrow(/--hub-file takes task=owner\/name/);
    expect(() => taskSpecs(['boolq'], parseFiles(['boolq=/no/such/file.parquet']), {})).toThrow(/cannot read the boolq file/);
  });
});
