/** The command line end to end on the embedded model: exit codes, JSON output, masks, pruned checkpoints. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireNodeDevice } from '../../src/gpu/node';
import { parseMask } from '../../src/prune/mask';
import { nodeHost } from '../../src/cli/node-host';
import { LabEngine } from '../../src/worker/lab-engine';

let dir: string;
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist-node/cli.mjs', ...args], { encoding: 'utf8', timeout: 300_000 });
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

  it('rejects bad arguments and bad files with exit code 2 and a message', async () => {
    for (const args of [['score'], ['score', 'embedded', '--criterion', 'nonsense'], ['score', 'embedded', '-n', '0'], ['ppl', 'not a model !'], ['prune', 'embedded', '--out', join(dir, 'x')]]) {
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
    const gen = json('generate', pruned, '--prompt', 'In the beginning', '--max-tokens', '4', '--seed', '1');
    expect(gen.tokens).toBeGreaterThan(0);
  });
});
