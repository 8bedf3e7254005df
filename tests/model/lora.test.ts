/**
 * LoRA healing on the embedded kjv-tiny-llama (blocks 3, 7, 11 removed) against the PyTorch float64
 * autograd fixtures of tools/heal/make_lora_fixtures.py (tests/fixtures/lora/): the loss with adapters,
 * dA and dB of every adapter (also with dropout 0.05: the fixture replicates the shader's hash masks),
 * three AdamW steps on the fixture's gradients, and a 20-step run with
 * gradient accumulation (2 micro-batches), dropout 0 and a fixed data order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readF32, writeBuffer } from '../../src/gpu/buffers';
import { LoraAdapters, type LoraSettings } from '../../src/heal/lora';
import { ADAMW_DEFAULTS, LoraTrainer, NonFiniteLossError, type MicroBatch } from '../../src/heal/train';
import { backward } from '../../src/model/backward';
import type { LlamaModel } from '../../src/model/model';
import { mulberry32 } from '../../src/util/random';
import { FIXTURES, fixtureI32, loadTestModel } from '../helpers/models';
import { relativeError } from '../helpers/numeric';

const DIR = join(FIXTURES, 'lora');
const fx = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8'));
const bin = (name: string) => {
  const b = readFileSync(join(DIR, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const settings: LoraSettings = { r: fx.r, alpha: fx.alpha, dropout: 0, seed: fx.seed };
const stream = fixtureI32('heldout_ids.bin');
/** Window w of n sequences of T tokens from the held-out stream (the fixture's data order). */
const window = (w: number, n: number = fx.N): MicroBatch => ({ ids: Uint32Array.from(stream.subarray(w * n * fx.T, (w + 1) * n * fx.T)), N: n, T: fx.T });

/** Splits a fixture file (per adapter: A then B) into per-adapter arrays. */
function perAdapter(flat: Float32Array, lora: LoraAdapters): { A: Float32Array; B: Float32Array }[] {
  let o = 0;
  return lora.adapters.map((a) => {
    const A = flat.subarray(o, (o += a.A.rows * a.A.cols));
    const B = flat.subarray(o, (o += a.B.rows * a.B.cols));
    return { A, B };
  });
}

describe('LoRA on kjv-tiny-llama vs PyTorch float64', () => {
  let model: LlamaModel;
  const made: LoraAdapters[] = [];
  afterAll(() => {
    made.forEach((l) => l.dispose());
    model?.dispose();
  });
  const adapters = async () => {
    model ??= await loadTestModel();
    const lora = new LoraAdapters(model.rt, model.config, fx.plan, settings);
    made.push(lora);
    return lora;
  };
  /** B drawn as the fixture does (dA is zero at B = 0). */
  const randomB = async (lora: LoraAdapters) => {
    const rand = mulberry32(fx.seed + 1);
    const values = await lora.read();
    for (const [i, a] of lora.adapters.entries()) {
      const B = new Float32Array(a.B.rows * a.B.cols);
      for (let j = 0; j < B.length; j++) B[j] = (rand() * 2 - 1) * fx.b_bound;
      lora.write(a.block, a.name, values[i]!.A, B);
    }
  };

  /** One forward + backward of the gradient batch with the adapters (gradients accumulate in them); the loss. */
  const gradientPass = async (lora: LoraAdapters) => {
    const { ids, N, T } = window(0);
    let loss = NaN;
    for await (const s of backward(model, ids, N, T, lora.consumer(N * T), { plan: fx.plan, adapters: lora.forShape(N * T) })) {
      if (s.stage === 'loss') {
        const [sum, count] = await readF32(model.rt.device, s.loss, 2);
        loss = sum! / count!;
      }
    }
    return loss;
  };

  it('loss, and dA, dB of every adapter', async () => {
    const lora = await adapters();
    expect(lora.adapters.length).toBe(fx.plan.length * 7);
    await randomB(lora);
    const loss = await gradientPass(lora);
    console.log(`loss ${loss} vs ${fx.loss}`);
    expect(Math.abs(loss - fx.loss) / fx.loss).toBeLessThan(1e-6);
    const ref = perAdapter(bin('grads.bin'), lora);
    const got = await lora.read('grad');
    let worst = 0;
    got.forEach((g, i) => {
      const eA = relativeError(g.A, ref[i]!.A);
      const eB = relativeError(g.B, ref[i]!.B);
      worst = Math.max(worst, eA, eB);
      expect(eA, `dA ${g.block}.${g.name}`).toBeLessThan(1e-4);
      expect(eB, `dB ${g.block}.${g.name}`).toBeLessThan(1e-4);
    });
    console.log(`worst dA / dB rel err ${worst.toExponential(2)}`);
  });

  it('with dropout 0.05: loss, and dA, dB of the first and last kept blocks', async () => {
    const dc = fx.dropout_case;
    model ??= await loadTestModel();
    const lora = new LoraAdapters(model.rt, model.config, fx.plan, { ...settings, dropout: dc.p });
    made.push(lora);
    await randomB(lora);
    lora.setDropoutSeed(dc.seed);
    const loss = await gradientPass(lora);
    console.log(`dropout loss ${loss} vs ${dc.loss} (no dropout ${fx.loss})`);
    expect(Math.abs(loss - dc.loss) / dc.loss).toBeLessThan(1e-6);
    const ends = lora.adapters.filter((a) => dc.blocks.includes(a.block));
    const ref = bin('dropout_grads.bin');
    const got = (await lora.read('grad')).filter((g) => dc.blocks.includes(g.block));
    let o = 0;
    got.forEach((g, i) => {
      const A = ref.subarray(o, (o += ends[i]!.A.rows * ends[i]!.A.cols));
      const B = ref.subarray(o, (o += ends[i]!.B.rows * ends[i]!.B.cols));
      expect(relativeError(g.A, A), `dA ${g.block}.${g.name}`).toBeLessThan(1e-4);
      expect(relativeError(g.B, B), `dB ${g.block}.${g.name}`).toBeLessThan(1e-4);
    });
    expect(o).toBe(ref.length);
  });

  it('three AdamW steps on the fixture gradients (schedule: warm-up 0, 3 steps)', async () => {
    const lora = await adapters();
    await randomB(lora);
    const before = await lora.read();
    const trainer = new LoraTrainer(model, lora, { lr: fx.adamw.lr, warmupSteps: 0, totalSteps: 3, ...ADAMW_DEFAULTS });
    const grads = perAdapter(bin('grads.bin'), lora);
    lora.adapters.forEach((a, i) => {
      writeBuffer(model.rt.device, a.A.grad, grads[i]!.A);
      writeBuffer(model.rt.device, a.B.grad, grads[i]!.B);
    });
    for (let k = 0; k < 3; k++) trainer.applyAdamW(1);
    const after = await lora.read();
    const ref = perAdapter(bin('adamw.bin'), lora);
    const delta = (x: Float32Array, y: Float32Array) => Array.from(x, (v, j) => v - y[j]!);
    let worst = 0;
    after.forEach((p, i) => {
      const eA = relativeError(delta(p.A, before[i]!.A), ref[i]!.A);
      const eB = relativeError(delta(p.B, before[i]!.B), ref[i]!.B);
      worst = Math.max(worst, eA, eB);
      expect(eA, `A ${p.block}.${p.name}`).toBeLessThan(1e-5);
      expect(eB, `B ${p.block}.${p.name}`).toBeLessThan(1e-5);
    });
    console.log(`worst AdamW update rel err ${worst.toExponential(2)}`);
  });

  it('20 optimizer steps of 2 micro-batches (gradient accumulation): the loss at every step', async () => {
    const lora = await adapters();
    const run = fx.run;
    const trainer = new LoraTrainer(model, lora, { lr: run.lr, warmupSteps: run.warmup, totalSteps: run.steps, ...ADAMW_DEFAULTS });
    const losses: number[] = [];
    for (let k = 0; k < run.steps; k++) {
      const micro = Array.from({ length: run.micro }, (_, j) => window(1 + k * run.micro + j, run.N));
      losses.push(await trainer.trainStep(micro));
    }
    console.log(`losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    losses.forEach((l, k) => expect(Math.abs(l - run.losses[k]) / run.losses[k], `step ${k + 1}`).toBeLessThan(1e-3));
    expect(trainer.step).toBe(run.steps);
  }, 600_000);

  it('a non-finite loss stops the step with a clear error and keeps the last good adapters', async () => {
    const lora = await adapters();
    const trainer = new LoraTrainer(model, lora, { lr: 1e-2, warmupSteps: 0, totalSteps: 10, ...ADAMW_DEFAULTS });
    await trainer.trainStep([window(1, 1)]);
    const first = lora.adapters[0]!;
    const good = await lora.read();
    // a bad adapter value poisons the forward (as an overflowing update would)
    const poisoned = good[0]!.B.slice();
    poisoned[0] = Infinity;
    lora.write(first.block, first.name, good[0]!.A, poisoned);
    const bad = await lora.read();
    const err = await trainer.trainStep([window(2, 1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/optimizer step 2 is (NaN|Infinity|-Infinity); the adapters keep/);
    expect(trainer.step).toBe(1);
    // no update was applied: every adapter is as before the failed step
    const after = await lora.read();
    after.forEach((p, i) => {
      expect(Array.from(p.A).every((v, j) => Object.is(v, bad[i]!.A[j]))).toBe(true);
      expect(Array.from(p.B).every((v, j) => Object.is(v, bad[i]!.B[j]))).toBe(true);
    });
  }, 120_000);
});
