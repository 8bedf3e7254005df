/**
 * `heal` on the command line: bad input (a non-empty --merge-out, --merge-out equal to --out, a bad
 * .jsonl row) exits 2 before the model loads; a one-step run on the embedded model writes the PEFT
 * folder, heal-log.json with the evaluations, heal-recipe.json, the mask with its healing record
 * (version 2), and the merged checkpoint carrying the same mask.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMask } from '../../src/prune/mask';

// Its own bundle folder, so it never races the other CLI tests' builds.
const BUNDLE = '.cache/cli-heal/cli.mjs';
let dir: string;
const cli = (args: string[]) => spawnSync(process.execPath, [BUNDLE, '--quiet', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg'), HF_TOKEN: '' } });

beforeAll(async () => {
  execFileSync('npx', ['vite', 'build', '-c', 'vite.node.config.ts', '--outDir', '.cache/cli-heal', '--logLevel', 'error'], { stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'dpl-cli-heal-'));
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('CLI heal', { timeout: 600_000 }, () => {
  it('bad input exits 2 before the model loads', async () => {
    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'x'), '');
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"text": "a"}\n{"instruction": "x"}\n');
    for (const [args, message] of [
      [['--out', join(dir, 'a'), '--merge-out', full], /output folder .* is not empty/],
      [['--out', join(dir, 'a'), '--merge-out', join(dir, 'a')], /--merge-out must be another folder than --out/],
      [['--out', join(dir, 'a'), '--data', bad], /bad.jsonl: line 2: "output" must be a string/],
    ] as const) {
      const r = cli(['heal', 'embedded', ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/loading/);
    }
  });

  it('a short run writes the adapter, log, recipe, healed mask and the merged checkpoint', async () => {
    const mask = join(dir, 'mask.json');
    expect(cli(['score', 'embedded', '--criterion', 'magnitude', '--ratio', '0.2', '--out', mask, '--no-cache']).status).toBe(0);
    const out = join(dir, 'adapter');
    const merged = join(dir, 'merged');
    const r = cli(['--json', 'heal', 'embedded', '--mask', mask, '--out', out, '--merge-out', merged, '--steps', '1', '--batch', '1', '--window', '16', '--heldout-windows', '1', '--eval-every', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'heal-log.json', 'heal-recipe.json', 'pruning_mask.json']);
    const log = JSON.parse(await readFile(join(out, 'heal-log.json'), 'utf8'));
    expect(log.evaluations.map((e: { step: number }) => e.step)).toEqual([0, 1]);
    expect(log.data).toMatchObject({ format: 'text', heldout: 1 });
    const healed = parseMask(await readFile(join(out, 'pruning_mask.json'), 'utf8'));
    expect(healed.version).toBe(2);
    expect(healed.healing).toMatchObject({ method: 'lora', steps: 1, settings: { max_steps: 1, seq_len: 16 }, data: { text_sha256: log.textSha256 } });
    expect(healed.healing!.heldout.before).toBeCloseTo(log.heldout.before, 10);
    const recipe = JSON.parse(await readFile(join(out, 'heal-recipe.json'), 'utf8'));
    expect(recipe.training_arguments).toMatchObject({ max_steps: 1, per_device_train_batch_size: 1, eval_steps: 1 });
    expect(await readFile(join(merged, 'pruning_mask.json'), 'utf8')).toBe(await readFile(join(out, 'pruning_mask.json'), 'utf8'));
    expect(JSON.parse(await readFile(join(merged, 'config.json'), 'utf8')).num_hidden_layers).toBe(healed.kept.length);
  });
});
