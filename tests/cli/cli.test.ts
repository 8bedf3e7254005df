/** The command line end to end on the embedded model: exit codes, JSON output, masks, pruned checkpoints. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireNodeDevice } from '../../src/node/dawn';
import { parseMask } from '../../src/prune/mask';
import { nodeHost } from '../../src/node/host';
import { LabEngine } from '../../src/app/lab';

let dir: string;
// The default score cache goes to the test's folder, never the user's ~/.cache.
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['dist-node/cli.mjs', ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg-cache') } });
const json = (...args: string[]) => {
  const r = cli('--json', '--quiet', ...args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  execFileSync('npx', ['vite', 'build', '-c', 'vite.node.config.ts', '--logLevel', 'error'], { stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'dpl-cli-'));
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('depth-pruning-lab CLI', { timeout: 600_000 }, () => {
  it('info reports the config, parameters and the adapter', () => {
    const out = json('info', 'embedded');
    expect(out.config.numLayers).toBe(16);
    expect(out.parameters).toBeGreaterThan(1e6);
    expect(out.adapter).toMatch(/swiftshader|nvidia|amd|intel|apple/i);
  });

  it('info --plan prints the memory plan per weight format; --weights chooses the format', () => {
    const out = json('info', 'embedded', '--plan', '--context', '256');
    expect(out.plan.context).toBe(256);
    expect(out.plan.formats.map((f: { format: string }) => f.format)).toEqual(['float', 'q8', 'q4']);
    expect(out.plan.recommended).toBe('float');
    const text = cli('info', 'embedded', '--plan');
    expect(text.stdout).toMatch(/memory plan \(MiB; KV cache for 1024 tokens/);
    expect(text.stdout).toMatch(/^float \*/m);
    expect(cli('--weights', 'q3', 'info', 'embedded').status).toBe(2);
  });

  it('rejects bad arguments and bad files with exit code 2 and a message', async () => {
    for (const args of [['score'], ['score', 'embedded', '--criterion', 'nonsense'], ['score', 'embedded', '-n', '0'], ['ppl', 'not a model !'], ['prune', 'embedded', '--out', join(dir, 'x')], ['generate', 'embedded', '--prompt', 'x', '--repetition-penalty', '0']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.length).toBeGreaterThan(0);
    }
    const bad = join(dir, 'bad-mask.json');
    await writeFile(bad, '{"format": "depth-pruning-lab/mask", "version": 1}');
    const r = cli('ppl', 'embedded', '--mask', bad, '--max-windows', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/mask/);
    expect(cli('info', join(dir, 'no-such-folder-with/slashes/too')).status).toBe(2);
    const unusableCache = cli('score', 'embedded', '--cache-dir', join(bad, 'cache'));
    expect(unusableCache.status).toBe(2);
    expect(unusableCache.stderr).toMatch(/score cache folder/);
  });

  it('score writes a mask that validates against the model and equals the engine', async () => {
    const mask = join(dir, 'mask.json');
    const out = json('score', 'embedded', '--criterion', 'ppl', 'magnitude', '-n', '2', '-t', '32', '--ratio', '0.25', '--out', mask);
    const engine = new LabEngine(await acquireNodeDevice('cli-test'), nodeHost);
    try {
      const info = await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
      const parsed = parseMask(await readFile(mask, 'utf8'), { fingerprint: info.fingerprint, numLayers: 16, architecture: info.architecture });
      expect(parsed.removed).toEqual(out.removed);
      expect(parsed.removed).toHaveLength(4);
      const ref = await engine.handle(
        { type: 'score', criteria: ['ppl'], calibration: { text: { kind: 'embedded', name: 'calibration' }, n: 2, t: 32, seed: 1234, bos: 'first' } },
        { signal: new AbortController().signal, progress: () => {} },
      );
      if (ref.type !== 'scored') throw new Error(ref.type);
      expect(out.results[0].scores).toEqual(ref.results[0]!.scores);
    } finally {
      engine.dispose();
    }
  });

  it('score reuses cached results until the calibration changes; corrupt entries, --no-cache and clear-cache recompute', async () => {
    type Out = { calibration: { seed: number }; results: { criterion: string; scores: number[]; ranking: number[]; seconds: number; cached: boolean }[] };
    const cache = join(dir, 'score-cache');
    const score = (...extra: string[]): Out => json('score', 'embedded', '--criterion', 'block-influence', 'magnitude', '-n', '2', '-t', '32', '--cache-dir', cache, ...extra);
    const cached = (out: Out) => out.results.map((r) => r.cached);
    const computed = (out: Out) => out.results.map((r) => [r.scores, r.ranking, r.seconds]);
    const entries = async () => (await readdir(cache)).filter((n) => n.endsWith('.json'));

    const first = score();
    expect(cached(first)).toEqual([false, false]);
    expect(await entries()).toHaveLength(2);
    const second = score();
    expect(cached(second)).toEqual([true, true]);
    expect(computed(second)).toEqual(computed(first)); // seconds: the original compute time
    expect(second.calibration).toEqual(first.calibration);

    // Another seed is another calibration set: block influence misses, data-free magnitude still hits.
    const reseeded = score('--seed', '7');
    expect(reseeded.calibration.seed).toBe(7);
    expect(cached(reseeded)).toEqual([false, true]);
    expect(reseeded.results[0]!.scores).not.toEqual(first.results[0]!.scores);
    expect(await entries()).toHaveLength(3);

    for (const name of await entries()) await writeFile(join(cache, name), '{"format": "depth-pruning-lab/scores", "version": 1, "result": [');
    expect(cached(score())).toEqual([false, false]);

    const elsewhere = join(dir, 'unused-cache');
    expect(cached(json('score', 'embedded', '--criterion', 'magnitude', '--no-cache', '--cache-dir', elsewhere))).toEqual([false]);
    expect(existsSync(elsewhere)).toBe(false);

    expect(json('clear-cache', '--cache-dir', cache)).toEqual({ cleared: cache });
    expect(await entries()).toHaveLength(0);
  });

  it('prune writes a loadable checkpoint; ppl and generate run on it and on the mask', () => {
    const mask = join(dir, 'mask.json');
    const pruned = join(dir, 'pruned');
    const p = json('prune', 'embedded', '--mask', mask, '--out', pruned);
    expect(p.kept).toHaveLength(12);
    expect(json('info', pruned).config.numLayers).toBe(12);
    const ppl = json('ppl', 'embedded', '--mask', mask, '--window', '32', '--max-windows', '2');
    expect(ppl.results).toHaveLength(2);
    expect(ppl.results[1].ppl).not.toBe(ppl.results[0].ppl);
    const reloaded = json('ppl', pruned, '--window', '32', '--max-windows', '2');
    expect(Math.abs(reloaded.results[0].ppl - ppl.results[1].ppl) / ppl.results[1].ppl).toBeLessThan(1e-5);
    const gen = json('generate', pruned, '--prompt', 'In the beginning', '--max-tokens', '4', '--seed', '1', '--repetition-penalty', '1.3');
    expect(gen.tokens).toBeGreaterThan(0);
  });

  it('bench --compare-weights measures full and pruned in each format beside the --weights model', () => {
    expect(cli('bench', 'embedded', '--compare-weights', 'float,q3').status).toBe(2);
    const { comparison } = json('--weights', 'q4', 'bench', 'embedded', '--mask', join(dir, 'mask.json'), '--compare-weights', 'q4,float', '--prompt-tokens', '4', '--new-tokens', '3', '--warmup', '0', '--runs', '1');
    type Row = { format: string; loaded: boolean; bytesOnGpu: number; results: { blocks: number; weightBytesPerToken: number }[] };
    const [float, q4] = comparison.formats as Row[];
    expect([float!.format, float!.loaded, q4!.format, q4!.loaded]).toEqual(['float', false, 'q4', true]);
    expect(q4!.bytesOnGpu).toBeLessThan(float!.bytesOnGpu);
    for (const f of [float!, q4!]) {
      expect(f.results.map((r) => r.blocks)).toEqual([16, 12]);
      expect(f.results[1]!.weightBytesPerToken).toBeLessThan(f.results[0]!.weightBytesPerToken);
    }
  });
  it('sweep: each criterion\'s plans for k = 0..K with the perplexity ppl --mask gives, as JSON or CSV', async () => {
    const args = ['embedded', '--criterion', 'magnitude', 'ppl', '-n', '2', '-t', '16', '--max-k', '3', '--windows', '2', '--window', '32'];
    const out = json('sweep', ...args);
    expect(out.sweep.lines.map((l: { criterion: string; points: unknown[] }) => [l.criterion, l.points.length])).toEqual([['magnitude', 4], ['ppl', 4]]);
    expect(out.rows).toHaveLength(8);
    const csv = cli('--quiet', 'sweep', ...args, '--csv');
    expect(csv.status, csv.stderr).toBe(0);
    const [header, ...rows] = csv.stdout.trim().split('\n');
    expect(header).toBe('criterion,k,removed,ppl,ideal_speedup');
    expect(rows.map((r) => r.split(',').slice(0, 3))).toEqual(out.rows.map((r: { criterion: string; k: number; removed: number[] }) => [r.criterion, String(r.k), r.removed.join(' ')]));
    // The magnitude plan for k = 2 is what `score --criterion magnitude` removes for 2 of 16 blocks; ppl --mask evaluates it plainly.
    const mask = join(dir, 'sweep-mask.json');
    json('score', 'embedded', '--criterion', 'magnitude', '--ratio', '0.125', '--out', mask);
    const plain = json('ppl', 'embedded', '--mask', mask, '--window', '32', '--max-windows', '2');
    const row = (c: string, k: number) => out.rows.find((r: { criterion: string; k: number }) => r.criterion === c && r.k === k);
    expect(row('magnitude', 2).removed).toEqual(parseMask(await readFile(mask, 'utf8')).removed);
    expect(row('magnitude', 2).ppl).toBe(plain.results[1].ppl);
    expect(row('ppl', 0).ppl).toBe(plain.results[0].ppl);
    expect(cli('--json', 'sweep', ...args, '--csv').status).toBe(2);
  });
});
