/**
 * The WGSL engine against the PyTorch golden fixtures (tools/tiny-llama/make_fixtures.py,
 * float64 on the shipped weights): logits, greedy text, held-out perplexity, the calibration
 * sampler and every forward-only criterion. Taylor has its own file (tests/model/taylor.test.ts).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluationWindows, perplexityOf } from '../../src/eval/perplexity';
import { generate } from '../../src/eval/generate';
import { NodeFolderSource } from '../../src/node/folder-source';
import { loadTokenizer, type TextTokenizer } from '../../src/io/tokenizer';
import type { LlamaModel } from '../../src/model/model';
import { sampleCalibration, splitDocuments } from '../../src/prune/calibration';
import { iterativePpl } from '../../src/prune/iterative-ppl';
import { magnitudeScores } from '../../src/prune/magnitude';
import { pplScores } from '../../src/prune/ppl-criterion';
import { rankBlocks } from '../../src/prune/criteria/ranking';
import { similarityScores } from '../../src/prune/similarity';
import { EMBEDDED_MODEL, fixtureF32, fixtureI32, fixtureIndex, loadTestModel, logitsAt, VARIANT_MODEL } from '../helpers/models';
import { relativeError } from '../helpers/numeric';

const fx = fixtureIndex();
const V = 4096;
const LOGITS_TOLERANCE = 1e-3; // F16 weights, f32 arithmetic vs float64 on the same weights
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('embedded model vs PyTorch', { timeout: 900_000 }, () => {
  let model: LlamaModel;
  let tokenizer: TextTokenizer;
  const calIds = Uint32Array.from((fx.calibration.ids as number[][]).flat());
  beforeAll(async () => {
    model = await loadTestModel();
    tokenizer = await loadTokenizer(new NodeFolderSource(EMBEDDED_MODEL));
  });
  afterAll(() => model?.dispose());

  it('samples the same calibration windows as the fixture script, in both BOS modes', () => {
    const docs = splitDocuments(readFileSync('public/data/kjv-calib.txt', 'utf8'));
    expect(docs.length).toBe(fx.calibration.num_docs);
    const enc = { bosId: 1, encode: (t: string, s: boolean) => tokenizer.encode(t, { addSpecialTokens: s }) };
    const spec = { textSha256: '', description: '', n: 10, t: 128, seed: 1234 };
    const first = sampleCalibration(docs, enc, { ...spec, bos: 'first' });
    expect(first.draws).toEqual(fx.calibration.draws);
    expect(Array.from(first.ids)).toEqual(Array.from(calIds));
    const every = sampleCalibration(docs, enc, { ...spec, bos: 'every' });
    expect(every.draws).toEqual(fx.calibration.draws_bos_every);
    expect(Array.from(every.ids)).toEqual((fx.calibration.ids_bos_every as number[][]).flat());
  });

  it('computes the fixture logits at the first, middle and last positions of three prompts', async () => {
    const all = fixtureF32('prompt_logits.bin');
    for (const [p, prompt] of (fx.prompts as { ids: number[]; positions: number[] }[]).entries()) {
      const rows = await logitsAt(model, prompt.ids, prompt.positions);
      prompt.positions.forEach((pos, j) => {
        const ref = all.subarray((p * 3 + j) * V, (p * 3 + j + 1) * V);
        expect(relativeError(rows[j]!, ref), `prompt ${p} position ${pos}`).toBeLessThan(LOGITS_TOLERANCE);
      });
    }
  });

  it('continues each prompt greedily with the same 32 tokens', async () => {
    for (const prompt of fx.prompts as { ids: number[]; greedy32: number[] }[]) {
      const r = await generate(model, prompt.ids, { plan: model.fullPlan(), maxNewTokens: 32, forceLength: true, sampling: { temperature: 0 } });
      expect(r.ids).toEqual(prompt.greedy32);
    }
  });

  it('gives the held-out perplexity of the fixture windows within 0.1% (BOS at the stream start)', async () => {
    const stream = fixtureI32('heldout_ids.bin');
    const perWindow = fixtureF32('heldout_window_nll.bin');
    const windows = evaluationWindows(stream, 1, { window: 128, bos: 'first' });
    expect(windows.length).toBe(fx.heldout.bos_at_start.windows_total);
    const n = fx.heldout.bos_at_start.windows as number; // every window the float64 reference computed (64)
    expect(perWindow.length).toBe(n);
    const r = await perplexityOf(model, windows.slice(0, n), model.fullPlan(), { window: 128, batch: 8 });
    const ref = Math.exp(perWindow.reduce((s, v) => s + v, 0) / n);
    expect(rel(ref, fx.heldout.bos_at_start.ppl), 'fixture self-consistency').toBeLessThan(1e-6);
    expect(rel(r.ppl, fx.heldout.bos_at_start.ppl)).toBeLessThan(1e-3);
    expect(r.predictions).toBe(n * 127);
  });

  it('scores every block by the PPL criterion within 0.1% of the fixture', async () => {
    const r = await pplScores(model, calIds, 10, 128);
    expect(rel(r.basePpl, fx.criteria.full_ppl)).toBeLessThan(1e-3);
    (fx.criteria.ppl_block_removed as number[]).forEach((ref, i) => expect(rel(r.scores[i]!, ref), `block ${i}`).toBeLessThan(1e-3));
    expect(rankBlocks(r.scores)).toEqual(fx.criteria.ppl_order);
    expect(r.blockRuns).toBeLessThan(r.blockRunsWithoutReuse / 1.8);
  });

  it('computes magnitude scores to float rounding', async () => {
    const r = await magnitudeScores(model);
    (fx.criteria.magnitude_per_weight as number[][]).forEach((ws, i) => ws.forEach((ref, k) => expect(rel(r.perWeight[i]![k]!, ref), `block ${i} weight ${k}`).toBeLessThan(1e-5)));
    expect(rankBlocks(r.perBlock)).toEqual(fx.criteria.magnitude_order);
  });

  it('computes Block Influence and angular distances within 1e-4', async () => {
    const r = await similarityScores(model, calIds, 10, 128);
    (fx.criteria.bi as number[]).forEach((ref, i) => expect(Math.abs(r.blockInfluence[i]! - ref), `BI block ${i}`).toBeLessThan(1e-4));
    for (const [n, a] of Object.entries(fx.criteria.angular as Record<string, { d: number[] }>)) {
      a.d.forEach((ref, l) => expect(Math.abs(r.angular[Number(n) - 1]![l]! - ref), `d(${l}, ${l}+${n})`).toBeLessThan(1e-4));
    }
  });

  it('iterative PPL removes the blocks of the fixture in its order, with its perplexities (2 rounds on 10 x 128)', async () => {
    // Round 1 is the PPL criterion above; round 2 re-scores the 15 survivors with block 8 gone.
    const ref = (fx.criteria.iterative_ppl as { k: number; removed: number[]; ppl: number }[]).find((r) => r.k === 2)!;
    const steps = await iterativePpl(model, calIds, 10, 128, 2);
    expect(steps.map((s) => s.removed)).toEqual(ref.removed);
    const byK = fx.criteria.iterative_ppl as { k: number; ppl: number }[];
    steps.forEach((s, i) => expect(rel(s.ppl, byK[i]!.ppl), `round ${i + 1}`).toBeLessThan(1e-3));
  });
});

describe('variant checkpoint (BF16, tied embeddings, llama3 RoPE, head_dim 64) vs PyTorch', { timeout: 300_000 }, () => {
  let model: LlamaModel;
  beforeAll(async () => {
    model = await loadTestModel(VARIANT_MODEL);
  });
  afterAll(() => model?.dispose());

  it('computes the fixture logits at every position', async () => {
    const all = fixtureF32('variant_logits.bin');
    let row = 0;
    for (const prompt of fx.variant.prompts as { ids: number[] }[]) {
      const batch = model.batch(1, prompt.ids.length);
      batch.setTokens(Uint32Array.from(prompt.ids));
      await batch.run({ plan: model.fullPlan() });
      const rows = await batch.logitsRows(prompt.ids.map((_, i) => i));
      rows.forEach((r, i) => expect(relativeError(r, all.subarray((row + i) * V, (row + i + 1) * V)), `position ${i}`).toBeLessThan(LOGITS_TOLERANCE));
      row += prompt.ids.length;
    }
  });

  it('gives the fixture perplexity on the first held-out windows within 0.1%', async () => {
    const ref = fx.variant.ppl_windows as { windows: number; ppl: number };
    const windows = evaluationWindows(fixtureI32('heldout_ids.bin'), 1, { window: 128, bos: 'first' }).slice(0, ref.windows);
    const r = await perplexityOf(model, windows, model.fullPlan(), { window: 128, batch: ref.windows });
    expect(rel(r.ppl, ref.ppl)).toBeLessThan(1e-3);
  });
});
