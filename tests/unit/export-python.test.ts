/**
 * tools/apply_mask.py (Python, stdlib only) and the TypeScript export must write the same pruned
 * checkpoint: same files, byte-identical tensors (and headers), equal parsed configs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportPrunedCheckpoint } from '../../src/export/checkpoint';
import { folderListing, nodeFolderExportSource, nodeFolderSink } from '../../src/node/folder-export';
import { loadCheckpoint } from '../../src/io/load';
import { NodeFolderSource } from '../../src/node/folder-source';
import { parseHeaderLength, parseSafetensorsHeader } from '../../src/io/safetensors';
import { buildMask, serializeMask, type PruningMask } from '../../src/prune/mask';
import { testRuntime } from '../helpers/gpu';
import { makeSyntheticCheckpoint, writeCheckpointFiles, type SyntheticOptions } from '../helpers/synthetic-checkpoint';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(process.cwd(), 'tools', 'apply_mask.py');
const TINY = join(process.cwd(), 'public', 'models', 'kjv-tiny-llama');
const hasPython = existsSync(PYTHON);

/** A whole safetensors file, each tensor with its bytes (src/io's reader). */
function parseSafetensors(bytes: Uint8Array) {
  const h = parseSafetensorsHeader('f', bytes.byteLength, parseHeaderLength('f', bytes.byteLength, bytes.subarray(0, 8)), bytes.subarray(8));
  return h.tensors.map((t) => ({ ...t, data: bytes.subarray(t.begin, t.end) }));
}

type Case = SyntheticOptions & { extraConfig?: Record<string, unknown> };

/** A synthetic checkpoint folder (src/io's test helper) with tokenizer files and an edited config. */
async function syntheticFolder(o: Case): Promise<string> {
  const ck = makeSyntheticCheckpoint({ hidden: 8, heads: 2, kvHeads: 1, intermediate: 12, vocab: 16, ...o });
  const dir = await temp('dpl-src-');
  await writeCheckpointFiles(dir, ck.files);
  await writeFile(join(dir, 'config.json'), `${JSON.stringify({ ...ck.config, ...o.extraConfig }, null, 2)}\n`);
  await writeFile(join(dir, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
  await writeFile(join(dir, 'generation_config.json'), '{"bos_token_id": 1}');
  return dir;
}

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});
async function temp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** The fingerprint the engine gives the checkpoint in `folder` (a real load on the test GPU). */
async function engineFingerprint(folder: string): Promise<string> {
  const rt = await testRuntime();
  const loaded = await loadCheckpoint(rt.device, new NodeFolderSource(folder));
  try {
    return loaded.fingerprint;
  } finally {
    loaded.dispose();
  }
}

function maskFor(numLayers: number, removed: number[], architecture = 'LlamaForCausalLM', fingerprint = 'd'.repeat(64)): PruningMask {
  return buildMask({
    model: { source: { kind: 'local', name: 'synthetic' }, architecture, num_hidden_layers: numLayers, fingerprint },
    criterion: { name: 'manual', calibration: null, protected_blocks: [] },
    removed,
    createdAt: '2026-11-29T19:00:00.000Z',
  });
}

function runPython(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exports with TS and with Python from the same folder and mask; returns both output folders. */
async function bothWays(src: string, mask: PruningMask, maxShardBytes?: number): Promise<{ ts: string; py: string }> {
  const maskPath = join(await temp('dpl-mask-'), 'mask.json');
  await writeFile(maskPath, serializeMask(mask));
  const ts = await temp('dpl-ts-');
  const py = join(await temp('dpl-py-'), 'out');
  const source = await nodeFolderExportSource(src);
  await exportPrunedCheckpoint({ source, sink: await nodeFolderSink(ts, { overwrite: true }), mask, maxShardBytes });
  const r = runPython([maskPath, src, py, ...(maxShardBytes ? ['--max-shard-size', String(maxShardBytes)] : [])]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return { ts, py };
}

async function expectSameFolders(ts: string, py: string): Promise<string[]> {
  const a = await folderListing(ts);
  const b = await folderListing(py);
  expect(Object.keys(b)).toEqual(Object.keys(a));
  for (const name of Object.keys(a)) {
    const x = await readFile(join(ts, name));
    const y = await readFile(join(py, name));
    if (name.endsWith('.safetensors')) {
      const px = parseSafetensors(x);
      const py_ = parseSafetensors(y);
      expect(py_.map((t) => t.name)).toEqual(px.map((t) => t.name));
      for (const [i, t] of px.entries()) {
        const u = py_[i]!;
        expect([u.dtype, u.shape]).toEqual([t.dtype, t.shape]);
        expect(Buffer.from(u.data).equals(Buffer.from(t.data)), `${name}: ${t.name}`).toBe(true);
      }
    }
    if (name.endsWith('.json')) expect(JSON.parse(y.toString('utf8'))).toEqual(JSON.parse(x.toString('utf8')));
    expect(y.equals(x), `${name} byte-identical`).toBe(true);
  }
  return Object.keys(a);
}

describe.skipIf(!hasPython)('tools/apply_mask.py equals the TypeScript export', () => {
  const cases: [string, Case, number[], number | undefined][] = [
    ['single file, untied, extra tensor (rotary inv_freq)', { layers: 6, dtype: 'F16', extra: true }, [1, 4], undefined],
    ['sharded source and output, tied', { layers: 5, tied: true, dtype: 'BF16', shards: 3 }, [0], 900],
    ['F32 with per-layer config lists', { layers: 4, dtype: 'F32', shards: 2, extraConfig: { layer_types: ['full_attention', 'a', 'b', 'full_attention'] } }, [1, 2], 2000],
    ['Llama 3 style config (llama3 rope scaling, eos list, no bos, BF16, tied)', { layers: 4, dtype: 'BF16', tied: true, llama3Rope: true, extraConfig: { eos_token_id: [2, 3], bos_token_id: null, rms_norm_eps: 1e-6 } }, [2], undefined],
    ['more than 10 blocks (natural order)', { layers: 12, hidden: 4, intermediate: 4, vocab: 8, heads: 1, kvHeads: 1, dtype: 'F16' }, [3, 10], 1500],
  ];
  for (const [title, options, removed, maxShard] of cases) {
    it(title, async () => {
      const src = await syntheticFolder(options);
      // The mask carries the engine's fingerprint; apply_mask.py recomputes it and must agree.
      const { ts, py } = await bothWays(src, maskFor(options.layers!, removed, 'LlamaForCausalLM', await engineFingerprint(src)), maxShard);
      const files = await expectSameFolders(ts, py);
      expect(files).toContain('pruning_mask.json');
      expect(files).toContain('tokenizer.json');
      const config = JSON.parse(await readFile(join(py, 'config.json'), 'utf8'));
      expect(config.num_hidden_layers).toBe(options.layers! - removed.length);
      if (options.extraConfig?.layer_types) expect(config.layer_types).toEqual(['full_attention', 'full_attention']);
    });
  }

  it('refuses a mask that does not fit, with a clear message', async () => {
    const src = await syntheticFolder({ layers: 3 });
    const dir = await temp('dpl-mask-');
    const write = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    const fp = await engineFingerprint(src);
    let r = runPython([await write('f.json', serializeMask(maskFor(3, [1]))), src, join(dir, 'out0')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the mask was made for another checkpoint \(fingerprint dddddddddddd\.\.\., this folder's is [0-9a-f]{12}\.\.\.\)/);
    expect(r.stderr).toContain(fp.slice(0, 12));
    r = runPython([join(dir, 'f.json'), src, join(dir, 'out0'), '--skip-fingerprint']);
    expect(r.status).toBe(0);
    const wrongL = await write('a.json', serializeMask(maskFor(4, [1])));
    r = runPython([wrongL, src, join(dir, 'out1')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/mask is for a model with 4 blocks, .*config.json has 3/);
    const wrongArch = await write('b.json', serializeMask(maskFor(3, [1], 'MistralForCausalLM')));
    r = runPython([wrongArch, src, join(dir, 'out2')]);
    expect(r.stderr).toMatch(/mask is for MistralForCausalLM, the checkpoint is LlamaForCausalLM/);
    const broken = JSON.parse(serializeMask(maskFor(3, [1])));
    broken.kept = [0];
    r = runPython([await write('c.json', JSON.stringify(broken)), src, join(dir, 'out3')]);
    expect(r.stderr).toMatch(/block\(s\) \[2\] are neither kept nor removed/);
    r = runPython([await write('d.json', '{"format": "x"}'), src, join(dir, 'out4')]);
    expect(r.stderr).toMatch(/not a depth-pruning-lab mask/);
    r = runPython([await write('e.json', '{'), src, join(dir, 'out5')]);
    expect(r.stderr).toMatch(/not valid JSON/);
    expect(existsSync(join(dir, 'out1'))).toBe(false);
  });

  it('tests/python: the pruned folder loads as a LLaMA whose logits equal the in-memory cut (torch part skipped without torch)', () => {
    const r = spawnSync(PYTHON, [join(process.cwd(), 'tests', 'python', 'test_apply_mask.py')], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    console.log(r.stderr.split('\n').filter((l) => / \.\.\. |^Ran |^OK|FAIL|Error/.test(l)).join('\n'));
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!existsSync(join(TINY, 'model.safetensors')))('on the embedded kjv-tiny-llama', async () => {
    const config = JSON.parse(await readFile(join(TINY, 'config.json'), 'utf8'));
    const L: number = config.num_hidden_layers;
    const removed = [Math.floor(L / 2) - 1, Math.floor(L / 2), L - 3];
    const { ts, py } = await bothWays(TINY, maskFor(L, removed, 'LlamaForCausalLM', await engineFingerprint(TINY)), 1_000_000);
    const files = await expectSameFolders(ts, py);
    expect(files.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(1);
    const pruned = JSON.parse(await readFile(join(py, 'config.json'), 'utf8'));
    expect(pruned).toEqual({ ...config, num_hidden_layers: L - 3 });
    // Every kept block's tensors equal the source block's, renumbered.
    const src = parseSafetensors(await readFile(join(TINY, 'model.safetensors')));
    const index = JSON.parse(await readFile(join(py, 'model.safetensors.index.json'), 'utf8'));
    const kept = [...Array(L).keys()].filter((b) => !removed.includes(b));
    const shards = new Map<string, ReturnType<typeof parseSafetensors>>();
    for (const t of src) {
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(t.name);
      const j = m ? kept.indexOf(Number(m[1])) : -2;
      if (j === -1) continue;
      const name = m ? `model.layers.${j}.${m[2]}` : t.name;
      const file: string = index.weight_map[name];
      if (!shards.has(file)) shards.set(file, parseSafetensors(await readFile(join(py, file))));
      const o = shards.get(file)!.find((x) => x.name === name)!;
      expect(Buffer.from(o.data).equals(Buffer.from(t.data)), name).toBe(true);
    }
  });
});
