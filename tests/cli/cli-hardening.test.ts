/**
 * The command line against hostile or mistaken input: exit code 2 and a message for bad input
 * (checked before the model loads where it can be), a closed stdout, FIFOs, .jsonl calibration,
 * pruning masks written where re-pruning will not copy them, and checkpoints that are wrong in
 * ways the loader used to accept (NaN weights, extra blocks, a short context).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EMBEDDED = 'public/models/kjv-tiny-llama';
// Its own bundle folder, so it never races tests/cli/cli.test.ts's build of dist-node/.
const BUNDLE = '.cache/cli-hardening/cli.mjs';
let dir: string;
const env = (extra: Record<string, string> = {}) => ({ ...process.env, XDG_CACHE_HOME: join(dir, 'xdg-cache'), HF_TOKEN: '', ...extra });
const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 300_000, env: env(extraEnv) });
const json = (...args: string[]) => {
  const r = cli(['--json', '--quiet', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

/** A copy of the embedded model with `edit` applied to its config and/or weight bytes. */
async function modelCopy(name: string, edit: { config?: (c: Record<string, unknown>) => void; weights?: (bytes: Uint8Array, header: Record<string, { data_offsets: [number, number] }>, dataStart: number) => void }) {
  const out = join(dir, name);
  await cp(EMBEDDED, out, { recursive: true });
  if (edit.config) {
    const c = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    edit.config(c);
    await writeFile(join(out, 'config.json'), JSON.stringify(c));
  }
  if (edit.weights) {
    const bytes = new Uint8Array(await readFile(join(out, 'model.safetensors')));
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    edit.weights(bytes, JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), 8 + n);
    await writeFile(join(out, 'model.safetensors'), bytes);
  }
  return out;
}

beforeAll(async () => {
  execFileSync('npx', ['vite', 'build', '-c', 'vite.node.config.ts', '--outDir', '.cache/cli-hardening', '--logLevel', 'error'], { stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'dpl-cli-hard-'));
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('CLI hardening', { timeout: 600_000 }, () => {
  it('bad --out (a folder for prune, a file for score), a file as model, config.json as a folder: exit 2 with a message', async () => {
    const mask = join(dir, 'm.json');
    expect(json('score', 'embedded', '--criterion', 'magnitude', '--ratio', '0.2', '--out', mask).removed).toHaveLength(3);
    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'x'), '');
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    for (const [args, message] of [
      [['prune', 'embedded', '--mask', mask, '--out', full], /not empty/],
      [['prune', 'embedded', '--mask', mask, '--out', file], /exists and is not a folder/],
      [['prune', 'embedded', '--mask', mask, '--out', ''], /output folder name is empty/],
      [['score', 'embedded', '--criterion', 'magnitude', '--out', full], /is a folder; give a file name/],
      [['score', 'embedded', '--criterion', 'magnitude', '--out', join(dir, 'no-such-folder', 'm.json')], /does not exist/],
      [['info', file], /is a file; pass the checkpoint folder/],
    ] as const) {
      const r = cli([...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const dirConfig = join(dir, 'dir-config');
    await mkdir(join(dirConfig, 'config.json'), { recursive: true });
    const r = cli(['info', dirConfig]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/config\.json is a directory, not a regular file/);
  });

  it('a bad or FIFO --mask is refused before any model loads', async () => {
    const bad = join(dir, 'bad-mask.json');
    await writeFile(bad, '{"format": "depth-pruning-lab/mask", "version": 1}');
    const empty = join(dir, 'empty-folder');
    await mkdir(empty);
    // The model argument is unusable too: the mask must be what is reported.
    const r = cli(['ppl', empty, '--mask', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/mask/);
    expect(r.stderr).not.toMatch(/config\.json/);
    const fifo = join(dir, 'mask.fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const f = cli(['ppl', 'embedded', '--mask', fifo]);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/is a FIFO, not a regular file/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('a closed stdout ends generate quietly (no EPIPE stack trace, no crash), every time', async () => {
    // Three runs: exiting with GPU work in flight crashed Dawn's teardown now and then.
    for (let i = 0; i < 3; i++) {
      const child = spawn(process.execPath, [BUNDLE, 'generate', 'embedded', '--prompt', 'In the beginning', '--max-tokens', '48'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.destroy(); // like `| head -c 0`: the reader is gone before the first write
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, sig) => resolve([c, sig])));
      expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
      expect([code, signal]).toEqual([0, null]);
    }
  });

  it('score --calib file.jsonl uses one document per line, as the page does', async () => {
    const chapters = (await readFile('public/data/kjv-calib.txt', 'utf8')).split(/\n\s*\n/).slice(0, 6);
    const jsonl = join(dir, 'calib.jsonl');
    await writeFile(jsonl, chapters.map((text) => JSON.stringify({ text })).join('\n'));
    const out = json('score', 'embedded', '--criterion', 'block-influence', '--calib', jsonl, '-n', '4', '-t', '32', '--no-cache');
    expect(out.calibration.description).toBe('calib.jsonl');
    expect(out.results[0].scores).toHaveLength(16);
  });

  it('prune writes pruning_mask.json and the llama.cpp command; re-pruning never copies an old mask', async () => {
    const mask = join(dir, 'm2.json');
    const removed: number[] = json('score', 'embedded', '--criterion', 'magnitude', '--ratio', '0.25', '--out', mask).removed;
    const a = join(dir, 'pruned-a');
    const human = cli(['--quiet', 'prune', 'embedded', '--mask', mask, '--out', a]);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain(`llama-quantize --prune-layers ${removed.join(',')} model.gguf model-pruned.gguf <type>`);
    expect(await readdir(a)).toContain('pruning_mask.json');
    expect((await readdir(dir)).filter((n) => n.includes('.partial-'))).toEqual([]);
    // A folder pruned by an earlier build carries the hyphenated name: neither name is copied on.
    await writeFile(join(a, 'pruning-mask.json'), await readFile(join(a, 'pruning_mask.json')));
    const b = join(dir, 'pruned-b');
    const out = json('prune', a, '--criterion', 'magnitude', '--ratio', '0.1', '--out', b);
    expect(out.kept).toHaveLength(11);
    const files = await readdir(b);
    expect(files).toContain('pruning_mask.json');
    expect(files).not.toContain('pruning-mask.json');
    expect(JSON.parse(await readFile(join(b, 'pruning_mask.json'), 'utf8')).model.num_hidden_layers).toBe(12);
  });

  it('never echoes a malformed token or URL credentials', () => {
    const r = cli(['info', 'org/model', '--hub-host', 'http://127.0.0.1:9'], { HF_TOKEN: 'hf_SECRET\ninjected' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/access token contains/);
    const c = cli(['info', 'org/model', '--hub-host', 'http://user:hf_SECRET@127.0.0.1:9']);
    expect(c.status).toBe(2);
    for (const out of [r.stderr + r.stdout, c.stderr + c.stdout]) expect(out).not.toContain('SECRET');
  });

  it('info says how the model argument was read', () => {
    expect(json('info', 'embedded').source.kind).toBe('embedded');
    const folder = json('info', EMBEDDED).source;
    expect(folder.kind).toBe('folder');
    expect(folder.text).toMatch(/read as a folder, not a Hub id/);
  });

  it('refuses NaN weights, blocks beyond num_hidden_layers and absurd sizes; warns on a short context', async () => {
    const nan = await modelCopy('nan-norm', {
      weights: (bytes, header, start) => {
        const [begin] = header['model.norm.weight']!.data_offsets;
        new DataView(bytes.buffer).setUint16(start + begin + 2 * 5, 0x7e00, true); // one F16 NaN
      },
    });
    const p = cli(['ppl', nan, '--window', '32', '--max-windows', '1']);
    expect(p.status, p.stdout).toBe(2);
    expect(p.stderr).toMatch(/model\.norm\.weight has NaN at element 5/);
    expect(p.stdout).not.toMatch(/NaN/);

    const fewer = await modelCopy('fewer-layers', { config: (c) => (c.num_hidden_layers = 15) });
    const f = cli(['info', fewer]);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/block\(s\) 15 but config\.json says num_hidden_layers = 15/);

    const huge = await modelCopy('huge', { config: (c) => (c.num_hidden_layers = 100_000_000) });
    const t0 = Date.now();
    const h = cli(['info', huge]);
    expect(h.status).toBe(2);
    expect(h.stderr).toMatch(/num_hidden_layers = 100000000 is beyond this lab's limit/);
    expect(Date.now() - t0).toBeLessThan(60_000);

    const short = await modelCopy('short-context', { config: (c) => (c.max_position_embeddings = 4) });
    const s = cli(['ppl', short, '--window', '32', '--max-windows', '1']);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/warning: evaluation windows of 32 tokens exceed the model's max_position_embeddings \(4\)/);
    expect(existsSync(join(short, 'config.json'))).toBe(true);
  });
});
