/**
 * The merged export (src/heal/merge.ts through the pruned checkpoint export): the embedded model with
 * blocks 3, 7, 11 removed and trained-looking adapters (random non-zero B), written with
 * W' = W + (alpha / r) B A merged, reloads with the logits of the lab's unmerged adapter forward.
 * - F32 checkpoint (an f32 copy of the embedded model): tight, 1e-5 (only f32 rounding of W' and of
 *   the two forward orders differs).
 * - F16 (the embedded model as shipped): each merged weight is rounded to f16, at most half an ulp,
 *   relative 2^-11 = 4.9e-4; independent roundings of ~30k weights per layer average out in a logit,
 *   so the logits move by a fraction of that: tolerance 2^-11. The adapters move the logits by
 *   > 100x that, so a merge that dropped them (or used the wrong scale) fails.
 * - tools/heal/lora_logits.py (float64 PyTorch merge of the adapter folder into the unmerged pruned
 *   f32 checkpoint) gives the merged f32 checkpoint's logits (skipped without torch).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPrunedCheckpoint } from '../../src/export/checkpoint';
import { LoraAdapters } from '../../src/heal/lora';
import { mergedExportSource } from '../../src/heal/merge';
import { peftAdapterFolder, type AdapterValues } from '../../src/heal/peft';
import { encodeSafetensors, parseHeaderLength, parseSafetensorsHeader } from '../../src/io/safetensors';
import { BatchForward } from '../../src/model/batch-forward';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { nodeFolderExportSource, nodeFolderSink } from '../../src/node/folder-export';
import { f16BitsToF32 } from '../../src/util/f16';
import { mulberry32 } from '../../src/util/random';
import { EMBEDDED_MODEL, loadTestModel } from '../helpers/models';
import { relativeError } from '../helpers/numeric';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'lora-merge-'));
const ids = [1, 3387, 261, 2128, 392, 3245, 261, 737, 270, 11];
const rows = ids.map((_, i) => i);
const settings = { r: 8, alpha: 16, dropout: 0, seed: 9 };

/** The embedded model stored as F32 (same values): the f32 fixture. */
function f32Copy(out: string): void {
  const bytes = readFileSync(join(EMBEDDED_MODEL, 'model.safetensors'));
  const file = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = parseHeaderLength('m', file.byteLength, file.subarray(0, 8));
  const h = parseSafetensorsHeader('m', file.byteLength, n, file.subarray(8, 8 + n));
  const tensors = h.tensors.map((t) => {
    const view = new DataView(file.buffer, file.byteOffset + t.begin, t.end - t.begin);
    const data = Float32Array.from({ length: (t.end - t.begin) / 2 }, (_, i) => f16BitsToF32(view.getUint16(i * 2, true)));
    return { name: t.name, dtype: 'F32' as const, shape: t.shape, data: new Uint8Array(data.buffer) };
  });
  writeFileSync(join(out, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  const config = JSON.parse(readFileSync(join(EMBEDDED_MODEL, 'config.json'), 'utf8'));
  writeFileSync(join(out, 'config.json'), JSON.stringify({ ...config, torch_dtype: 'float32' }, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) copyFileSync(join(EMBEDDED_MODEL, f), join(out, f));
}

async function logitsOf(model: LlamaModel, plan: number[], hook?: ReturnType<LoraAdapters['forShape']>): Promise<Float32Array[]> {
  const f = new BatchForward(model.rt, model.config, model.weights, 1, ids.length, hook);
  try {
    f.setTokens(Uint32Array.from(ids));
    await f.run({ plan });
    return await f.logitsRows(rows);
  } finally {
    f.destroy();
  }
}

async function exportTo(name: string, from: string, kept: number[], adapters?: AdapterValues[]): Promise<string> {
  const out = join(dir, name);
  const source = await nodeFolderExportSource(from);
  await exportPrunedCheckpoint({ source: adapters ? mergedExportSource(source, adapters, settings) : source, sink: await nodeFolderSink(out), kept });
  return out;
}

const maxErr = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => Math.max(...a.map((row, i) => relativeError(row, b[i]!)));

describe('merged checkpoint export', { timeout: 600_000 }, () => {
  let model: LlamaModel;
  let kept: number[];
  let adapters: AdapterValues[];
  let unmerged: Float32Array[];
  let pruned: Float32Array[];
  beforeAll(async () => {
    model = await loadTestModel();
    kept = planWithout(model.numLayers, [3, 7, 11]);
    const lora = new LoraAdapters(model.rt, model.config, kept, settings);
    const rand = mulberry32(10);
    for (const [i, v] of (await lora.read()).entries()) {
      const a = lora.adapters[i]!;
      lora.write(a.block, a.name, v.A, Float32Array.from({ length: a.B.rows * a.B.cols }, () => (rand() * 2 - 1) * 0.05));
    }
    adapters = await lora.read();
    unmerged = await logitsOf(model, kept, lora.forShape(ids.length));
    pruned = await logitsOf(model, kept);
    lora.dispose();
  });
  afterAll(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('F16 (the embedded model): the merged checkpoint gives the unmerged logits within f16 rounding', async () => {
    const merged = await loadTestModel(await exportTo('merged-f16', EMBEDDED_MODEL, kept, adapters));
    try {
      const err = maxErr(await logitsOf(merged, merged.fullPlan()), unmerged);
      const moved = maxErr(pruned, unmerged);
      console.log(`f16 merged vs unmerged: rel err ${err.toExponential(2)}; the adapters move the logits by ${moved.toExponential(2)}`);
      expect(err).toBeLessThan(2 ** -11);
      expect(moved).toBeGreaterThan(100 * 2 ** -11);
    } finally {
      merged.dispose();
    }
  });

  it('F32: the merged checkpoint gives the unmerged logits tightly, and the PyTorch float64 merge agrees', async () => {
    const f32 = join(dir, 'f32');
    mkdirSync(f32);
    f32Copy(f32);
    const merged = await loadTestModel(await exportTo('merged-f32', f32, kept, adapters));
    try {
      const lab = await logitsOf(merged, merged.fullPlan());
      const err = maxErr(lab, unmerged);
      console.log(`f32 merged vs unmerged: rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-5);
      if (!hasTorch) return;
      const plain = await exportTo('pruned-f32', f32, kept);
      const adapterDir = join(dir, 'adapter');
      mkdirSync(adapterDir);
      const folder = peftAdapterFolder(adapters, { plan: kept, ...settings, baseModel: plain });
      writeFileSync(join(adapterDir, 'adapter_config.json'), folder['adapter_config.json']);
      writeFileSync(join(adapterDir, 'adapter_model.safetensors'), folder['adapter_model.safetensors']);
      const r = spawnSync(PYTHON, [join(process.cwd(), 'tools', 'heal', 'lora_logits.py'), plain, adapterDir, ...ids.map(String)], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.status, r.stderr).toBe(0);
      const ref: number[][] = JSON.parse(r.stdout).logits;
      const py = maxErr(lab, ref);
      console.log(`f32 merged (lab) vs PyTorch float64 merge: rel err ${py.toExponential(2)}`);
      expect(py).toBeLessThan(1e-4);
    } finally {
      merged.dispose();
    }
  });
});
