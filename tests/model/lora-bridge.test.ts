/**
 * The PyTorch bridge (tools/heal/lora_logits.py): the lab's logits with unmerged adapters (batched
 * forward with the LoRA hook) equal the script's float64 logits of the checkpoint with the exported
 * PEFT folder merged, on the embedded LLaMA and on family fixtures whose layers differ (Qwen3 with
 * q/k norms and biases, Gemma's (1 + w) norms, GELU and embedding scale). Skipped where
 * /usr/bin/python3 has no torch (CI).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoraAdapters } from '../../src/heal/lora';
import { peftAdapterFolder } from '../../src/heal/peft';
import { BatchForward } from '../../src/model/batch-forward';
import type { LlamaModel } from '../../src/model/model';
import { mulberry32 } from '../../src/util/random';
import { EMBEDDED_MODEL, FIXTURES, loadTestModel } from '../helpers/models';
import { relativeError } from '../helpers/numeric';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'lora-bridge-'));
const CHECKPOINTS = [
  { name: 'embedded LLaMA', folder: EMBEDDED_MODEL, ids: [1, 3387, 261, 2128, 392, 3245, 261, 737, 270] },
  { name: 'qwen3 with biases', folder: join(FIXTURES, 'families', 'qwen3-bias'), ids: [1, 17, 93, 5, 211, 64, 7, 150] },
  { name: 'gemma', folder: join(FIXTURES, 'families', 'gemma'), ids: [1, 17, 93, 5, 211, 64, 7, 150] },
];

describe.skipIf(!hasTorch)('LoRA adapter folder -> PyTorch merged logits', () => {
  let model: LlamaModel;
  afterAll(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(CHECKPOINTS)('$name: the lab with unmerged adapters gives the logits of the merged checkpoint in float64', async ({ folder: checkpoint, ids }) => {
    model?.dispose();
    model = await loadTestModel(checkpoint);
    const plan = model.fullPlan();
    const settings = { r: 8, alpha: 16, dropout: 0, seed: 5 };
    const lora = new LoraAdapters(model.rt, model.config, plan, settings);
    // non-zero B, so the adapters change the logits
    const rand = mulberry32(6);
    for (const [i, v] of (await lora.read()).entries()) {
      const a = lora.adapters[i]!;
      lora.write(a.block, a.name, v.A, Float32Array.from({ length: a.B.rows * a.B.cols }, () => (rand() * 2 - 1) * 0.05));
    }
    const folder = peftAdapterFolder(await lora.read(), { plan, ...settings, baseModel: EMBEDDED_MODEL });
    writeFileSync(join(dir, 'adapter_config.json'), folder['adapter_config.json']);
    writeFileSync(join(dir, 'adapter_model.safetensors'), folder['adapter_model.safetensors']);
    const T = ids.length;
    const forward = new BatchForward(model.rt, model.config, model.weights, 1, T, lora.forShape(T));
    forward.setTokens(Uint32Array.from(ids));
    await forward.run({ plan });
    const lab = await forward.logitsRows(ids.map((_, i) => i));
    forward.destroy();
    const plain = model.batch(1, T);
    plain.setTokens(Uint32Array.from(ids));
    await plain.run({ plan });
    const base = await plain.logitsRows([T - 1]);
    lora.dispose();
    const r = spawnSync(PYTHON, [join(process.cwd(), 'tools', 'heal', 'lora_logits.py'), checkpoint, dir, ...ids.map(String)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const ref: number[][] = JSON.parse(r.stdout).logits;
    const errs = lab.map((row, i) => relativeError(row, ref[i]!));
    console.log(`logits rel err max ${Math.max(...errs).toExponential(2)}; adapters move the last row by ${relativeError(base[0]!, ref[T - 1]!).toExponential(2)}`);
    errs.forEach((e, i) => expect(e, `position ${i}`).toBeLessThan(1e-4));
    // the adapters matter: the plain model is far from the merged one
    expect(relativeError(base[0]!, ref[T - 1]!)).toBeGreaterThan(1e-2);
  }, 300_000);
});
