/**
 * Dataset files in their real column layouts: Parquet written here with hyparquet-writer (struct and
 * list columns, int64 labels, as the Hub's files have them) and JSON Lines, read back into items;
 * the Hub path through the lab's Hub client against a loopback server; errors that name the row.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataRows, parseJsonl } from '../../src/tasks/dataset-file';
import { taskFormat } from '../../src/tasks/registry';
import { loadTaskItems, type TaskDataDeps } from '../../src/tasks/task-data';
import type { DatasetRow } from '../../src/tasks/types';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const arcParquet = new Uint8Array(parquetWriteBuffer({
  columnData: [
    { name: 'id', data: ['Mercury_1', 'Mercury_2', 'Mercury_3'] },
    { name: 'question', data: ['Which is a liquid?', 'What melts ice?', 'Which is alive?'] },
    { name: 'choices', data: [
      { text: ['ice', 'water', 'steam'], label: ['A', 'B', 'C'] },
      { text: ['heat', 'cold'], label: ['1', '2'] },
      { text: ['a rock', 'a tree', 'a cup', 'a pen'], label: ['A', 'B', 'C', 'D'] },
    ] },
    { name: 'answerKey', data: ['B', '1', 'B'] },
  ],
}));

const boolqParquet = new Uint8Array(parquetWriteBuffer({
  columnData: [
    { name: 'question', data: ['is water wet', 'is fire cold'] },
    { name: 'passage', data: ['Water is wet.', 'Fire is hot.'] },
    { name: 'idx', data: [0, 1], type: 'INT32' },
    { name: 'label', data: [1n, 0n], type: 'INT64' },
  ],
}));

const noEmbedded: TaskDataDeps = { embeddedFile: () => Promise.reject(new Error('none')) };

describe('dataset files', () => {
  it('reads every task from a Parquet file in its real column layout, as from the rows themselves', async () => {
    const rows = JSON.parse(readFileSync(join(process.cwd(), 'tests/fixtures/tasks/rows.json'), 'utf8')) as Record<string, DatasetRow[]>;
    for (const [task, taskRows] of Object.entries(rows).filter(([k]) => !k.startsWith('_'))) {
      const columns = Object.keys(taskRows[0]!);
      // Integer columns as Parquet int64 (BigInt when read), as the Hub's files store labels and ids.
      const columnData = columns.map((name) => {
        const data = taskRows.map((r) => r[name]);
        return typeof data[0] === 'number' ? { name, data: data.map((v) => BigInt(v as number)), type: 'INT64' as const } : { name, data };
      });
      const bytes = new Uint8Array(parquetWriteBuffer({ columnData }));
      const r = await loadTaskItems({ task, data: { kind: 'upload', name: `${task}.parquet`, bytes } }, noEmbedded);
      expect(r.items, task).toEqual(taskRows.map((row, i) => taskFormat(task).toItem(row, `${task} row ${i}`)));
    }
  });

  it('reads Parquet with struct, list and int64 columns into items', async () => {
    const arc = await loadTaskItems({ task: 'arc_easy', data: { kind: 'upload', name: 'test.parquet', bytes: arcParquet } }, noEmbedded);
    expect(arc.items.map((i) => [i.requests.map((r) => r.continuation), i.gold])).toEqual([
      [[' ice', ' water', ' steam'], 1], [[' heat', ' cold'], 0], [[' a rock', ' a tree', ' a cup', ' a pen'], 1],
    ]);
    const boolq = await loadTaskItems({ task: 'boolq', data: { kind: 'upload', name: 'validation.parquet', bytes: boolqParquet }, limit: 1 }, noEmbedded);
    expect(boolq.items).toHaveLength(1);
    expect(boolq.items[0]!.requests[0]!.context).toBe('Water is wet.\nQuestion: is water wet?\nAnswer:');
    expect(boolq.items[0]!.gold).toBe(1);
  });

  it('recognises Parquet by its magic, JSONL otherwise, and applies the limit', async () => {
    expect(await dataRows('upload.bin', boolqParquet)).toHaveLength(2);
    const jsonl = new TextEncoder().encode('{"context": "a", "choices": ["b", "c"], "gold": 1}\n\n{"context": "d", "choices": ["e"], "gold": 0}\n');
    expect(await dataRows('t.jsonl', jsonl)).toHaveLength(2);
    expect(await dataRows('t.jsonl', jsonl, 1)).toHaveLength(1);
  });

  it('names the line of bad JSONL and the row of a bad item', async () => {
    expect(() => parseJsonl('{"a": 1}\n{oops}\n', 'mine.jsonl')).toThrow(/mine.jsonl line 2: not valid JSON/);
    expect(() => parseJsonl('[1, 2]\n', 'mine.jsonl')).toThrow(/mine.jsonl line 1: expected a JSON object/);
    const bytes = new TextEncoder().encode('{"context": "a", "choices": ["b"], "gold": 0}\n{"context": "a", "choices": ["b"], "gold": 5}\n');
    await expect(loadTaskItems({ task: 'custom', data: { kind: 'upload', name: 'mine.jsonl', bytes } }, noEmbedded)).rejects.toThrow(/custom row 1 of mine.jsonl: gold index 5 is out of range for 1 choices/);
    await expect(loadTaskItems({ task: 'piqa', data: { kind: 'upload', name: 'b.parquet', bytes: boolqParquet } }, noEmbedded)).rejects.toThrow(/piqa row 0 of b.parquet: missing columns "goal", "sol1", "sol2"; the row has question, passage, idx, label/);
    await expect(dataRows('x.parquet', new Uint8Array([80, 65, 82, 49, 0, 0]))).rejects.toThrow(/x.parquet: not a readable Parquet file/);
  });

  it('reads the shipped KJV tasks through the host', async () => {
    const { readFile } = await import('node:fs/promises');
    const deps: TaskDataDeps = { embeddedFile: async (path) => new Uint8Array(await readFile(`public/data/${path}`)) };
    const r = await loadTaskItems({ task: 'kjv_last_word', data: { kind: 'embedded' }, limit: 5 }, deps);
    expect(r.items).toHaveLength(5);
    expect(r.items.every((i) => i.requests.length === 4)).toBe(true);
  });
});

describe('datasets from the Hub', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await startHubServer({ 'datasets/allenai/ai2_arc': { files: new Map([['ARC-Easy/test-00000-of-00001.parquet', arcParquet]]) } });
  });
  afterAll(() => hub?.close());

  it("fetches the format's default file from the dataset repository, with byte progress", async () => {
    const progress: number[] = [];
    const r = await loadTaskItems({ task: 'arc_easy', data: { kind: 'hub', host: hub.url } }, { ...noEmbedded, onBytes: (done) => progress.push(done) });
    expect(r.items).toHaveLength(3);
    expect(r.source).toBe('hub:datasets/allenai/ai2_arc@main/ARC-Easy/test-00000-of-00001.parquet');
    expect(progress[progress.length - 1]).toBe(arcParquet.byteLength);
    expect(hub.requests.some((q) => q.path === '/datasets/allenai/ai2_arc/resolve/main/ARC-Easy/test-00000-of-00001.parquet')).toBe(true);
  });

  it('says which file is missing', async () => {
    await expect(loadTaskItems({ task: 'arc_challenge', data: { kind: 'hub', host: hub.url } }, noEmbedded)).rejects.toThrow(/ARC-Challenge\/test-00000-of-00001.parquet/);
  });
});
