/** `depth-pruning-lab tasks` end to end on the embedded model: the table, JSON, CSV, a mask, bad input. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist-node/cli.mjs', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg-cache') } });

beforeAll(async () => {
  execFileSync('npx', ['vite', 'build', '-c', 'vite.node.config.ts', '--logLevel', 'error'], { stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'dpl-cli-tasks-'));
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('depth-pruning-lab tasks', { timeout: 600_000 }, () => {
  it('scores a shipped task and a custom file on the original and a mask, with JSON and CSV', async () => {
    const custom = join(dir, 'custom.jsonl');
    await writeFile(custom, '{"context": "In the beginning God created the heaven and the", "choices": ["earth", "bread"], "gold": 0}\n{"context": "And God said, Let there be", "choices": ["light", "stones"], "gold": 0}\n');
    const maskPath = join(dir, 'mask.json');
    const scored = cli('--quiet', 'score', 'embedded', '--criterion', 'magnitude', '--ratio', '0.2', '--out', maskPath, '--no-cache');
    expect(scored.status, scored.stderr).toBe(0);
    const csv = join(dir, 'zeroshot_acc.csv');
    const r = cli('--json', '--quiet', 'tasks', 'embedded', '--mask', maskPath, '--task', 'kjv_last_word', 'custom', '--file', `custom=${custom}`, '--limit', '3', '--csv', csv);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.plans.map((p: { name: string; blocks: number }) => [p.name, p.blocks])).toEqual([['original', 16], ['pruned', 13]]);
    expect(out.tasks.map((t: { task: string; items: number; metric: string }) => [t.task, t.items, t.metric])).toEqual([['kjv_last_word', 3, 'acc'], ['custom', 2, 'acc']]);
    for (const t of out.tasks) {
      expect(t.perPlan).toHaveLength(2);
      expect(t.tokensRun[0]).toBeLessThan(t.tokens);
    }
    const lines = (await readFile(csv, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('model,kjv_last_word,custom,AVE');
    expect(lines[1]).toBe('metric,acc,acc,n/a');
    expect(lines.map((l) => l.split(',')[0])).toEqual(['model', 'metric', 'original', 'pruned', 'pruned - original']);
    expect(out.csv).toBe(`${lines.join('\n')}\n`);
    const text = cli('--quiet', 'tasks', 'embedded', '--task', 'kjv_verse_end', '--limit', '2');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/model\s+kjv_verse_end\s+AVE/);
    expect(text.stdout).toMatch(/kjv_verse_end: 2 items/);
  });

  it('names the row of a bad file and exits 2', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"context": "a", "choices": ["b", "c"], "gold": 0}\n{"context": "a", "choices": ["b", "c"], "gold": 7}\n');
    const r = cli('--quiet', 'tasks', 'embedded', '--task', 'custom', '--file', `custom=${bad}`);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/custom row 1 of bad.jsonl: gold index 7 is out of range for 2 choices/);
    expect(cli('--quiet', 'tasks', 'embedded', '--task', 'custom').status).toBe(2);
    expect(cli('--quiet', 'tasks', 'embedded', '--task', 'nonsense').status).toBe(2);
  });
});
