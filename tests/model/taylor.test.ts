/**
 * The Taylor criterion on the GPU (src/prune/taylor.ts).
 * (1) A tiny random LLaMA (2 blocks, hidden 32, 4 heads / 2 kv heads of 16, intermediate 40, vocab 37)
 *     written as an HF checkpoint and loaded by the real loader: every per-weight score against a
 *     float64 CPU forward + backward of the whole model (tests/reference/taylor-model.ts), the loss,
 *     central finite differences of the f64 loss for a few weights (validating the reference's
 *     gradients), progress, cancellation and that every buffer is freed. Variants: f32 weights; f16
 *     weights with tied embeddings and a row-chunked LM head.
 * (2) The embedded kjv-tiny-llama on the fixture's calibration ids against the PyTorch float64
 *     autograd fixture (runs only once tests/fixtures/index.json has criteria.taylor_per_weight).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesSource } from '../../src/io/file-source';
import { loadCheckpoint } from '../../src/io/load';
import { encodeSafetensors } from '../../src/io/safetensors';
import { LlamaModel } from '../../src/model/model';
import { CancelledError } from '../../src/util/job';
import { computeTaylorScores, taylorMemoryEstimate, TAYLOR_WEIGHT_KINDS } from '../../src/prune/taylor';
import { f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { testRuntime } from '../helpers/gpu';
import { FIXTURES, fixtureIndex, loadTestModel } from '../helpers/models';
import { seededRandom } from '../helpers/numeric';
import { asFiles, syntheticConfig, tensorShapes, trackBuffers } from '../helpers/synthetic-checkpoint';
import { invFreqRef } from '../reference/rope';
import { KINDS, modelBackwardRef, modelForwardRef, type Kind, type ModelParams, type ModelShape } from '../reference/taylor-model';

const shape: ModelShape = { layers: 2, hidden: 32, heads: 4, kvHeads: 2, headDim: 16, intermediate: 40, vocab: 37, eps: 1e-5 };
const N = 2;
const T = 7;

const HF_KIND: Record<Kind, string> = {
  q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj', inputNorm: 'input_layernorm', postNorm: 'post_attention_layernorm',
};

/** A random tiny LLaMA: the GPU model loaded from an in-memory HF checkpoint, and the same weights in f64. */
async function tinyModel(name: string, o: { f16: boolean; tied: boolean; llama3Rope?: boolean }) {
  const { normal, uniform } = seededRandom(name);
  const config = syntheticConfig({
    hidden: shape.hidden, intermediate: shape.intermediate, layers: shape.layers, heads: shape.heads, kvHeads: shape.kvHeads,
    headDim: shape.headDim, vocab: shape.vocab, tied: o.tied, dtype: o.f16 ? 'F16' : 'F32', llama3Rope: o.llama3Rope,
  });
  const values = new Map<string, Float64Array>();
  const tensors = tensorShapes(config).map(([tname, dims]) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const isNorm = dims.length === 1;
    // well-conditioned scales: norms ~ 1, linear layers ~ 1/sqrt(fan_in), logits with some spread
    // (a tied embedding is also the head: scaled like one)
    const head = tname === 'lm_head.weight' || (o.tied && tname.includes('embed'));
    const scale = isNorm ? 0.2 : head ? 2 / Math.sqrt(dims[1]!) : tname.includes('embed') ? 1 : 1 / Math.sqrt(dims[1]!);
    const f = new Float32Array(count);
    for (let i = 0; i < count; i++) f[i] = (isNorm ? 1 : 0) + normal() * scale;
    let data: Uint8Array;
    const v = new Float64Array(count);
    if (o.f16) {
      const bits = new Uint16Array(count);
      for (let i = 0; i < count; i++) {
        bits[i] = f32ToF16Bits(f[i]!);
        v[i] = f16BitsToF32(bits[i]!);
      }
      data = new Uint8Array(bits.buffer);
    } else {
      v.set(f);
      data = new Uint8Array(f.buffer);
    }
    values.set(tname, v);
    return { name: tname, dtype: (o.f16 ? 'F16' : 'F32') as 'F16' | 'F32', shape: dims, data };
  });
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(JSON.stringify(config))],
    ['model.safetensors', encodeSafetensors(tensors, { format: 'pt' })],
  ]);
  const rt = await testRuntime();
  const ckpt = await loadCheckpoint(rt.device, new FilesSource(asFiles(files, name.replace(/\W/g, '_'))));
  const model = new LlamaModel(rt, ckpt);
  const t = (n: string) => values.get(n)!;
  const params: ModelParams = {
    embed: t('model.embed_tokens.weight'),
    blocks: Array.from({ length: shape.layers }, (_, i) =>
      Object.fromEntries(KINDS.map((k) => [k, t(`model.layers.${i}.${HF_KIND[k]}.weight`)])) as Record<Kind, Float64Array>),
    finalNorm: t('model.norm.weight'),
    lmHead: o.tied ? t('model.embed_tokens.weight') : t('lm_head.weight'),
    invFreq: Float32Array.from(invFreqRef(shape.headDim, config.rope_theta as number,
      o.llama3Rope ? (config.rope_scaling as Parameters<typeof invFreqRef>[2]) : undefined)),
  };
  const ids = new Uint32Array(N * T);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(uniform() * shape.vocab);
  return { model, params, ids };
}

function maxRelError(gpu: number[][], ref: number[][]): { worst: number; lines: string[] } {
  let worst = 0;
  const lines: string[] = [];
  gpu.forEach((row, i) => row.forEach((g, k) => {
    const e = Math.abs(g - ref[i]![k]!) / Math.abs(ref[i]![k]!);
    worst = Math.max(worst, e);
    lines.push(`b${i}.${TAYLOR_WEIGHT_KINDS[k]} ${ref[i]![k]!.toPrecision(6)} (${e.toExponential(1)})`);
  }));
  return { worst, lines };
}

describe('Taylor scores on a tiny random LLaMA vs a float64 forward + backward of the whole model', () => {
  const models: LlamaModel[] = [];
  afterAll(() => models.forEach((m) => m.dispose()));

  it('f32 weights: every score, the loss, finite differences, progress, no buffer left behind', async () => {
    const { model, params, ids } = await tinyModel('taylor f32', { f16: false, tied: false });
    models.push(model);
    const fwd = modelForwardRef(shape, params, ids, T);
    const ref = modelBackwardRef(shape, params, ids, T, fwd);

    const tracker = trackBuffers(model.rt.device);
    const progress: string[] = [];
    let res;
    try {
      res = await computeTaylorScores(model, ids, N, T, { onProgress: (d, t, what) => progress.push(`${d}/${t} ${what}`) });
      expect(tracker.alive(), 'buffers left alive').toEqual([]);
    } finally {
      tracker.restore();
    }
    expect(progress).toEqual(['1/4 forward', '2/4 LM head and loss', '3/4 block 1', '4/4 block 0']);
    const { worst, lines } = maxRelError(res.perWeight, ref.scores);
    console.log(`loss ${res.loss} (ref ${fwd.loss}); peak ${res.peakBytes} B (estimate ${taylorMemoryEstimate(model.config, N, T)}); ${lines.join(', ')}`);
    expect(Math.abs(res.loss - fwd.loss) / fwd.loss).toBeLessThan(1e-5);
    expect(worst).toBeLessThan(1e-4);
    res.perBlock.forEach((b, i) => expect(b).toBeCloseTo(res.perWeight[i]!.reduce((x, y) => x + y, 0), 10));
    // the estimate leaves out uniforms and score partials (a few KB)
    expect(res.peakBytes).toBeGreaterThanOrEqual(taylorMemoryEstimate(model.config, N, T));
    expect(res.peakBytes).toBeLessThan(taylorMemoryEstimate(model.config, N, T) + (16 << 10));

    // central finite differences of the f64 loss validate the reference gradients the scores use:
    // per block, the element of q, inputNorm and down with the largest |gradient| and a random one
    const h = 1e-5;
    const fd: string[] = [];
    let pick = 0;
    for (let b = 0; b < shape.layers; b++) {
      for (const k of ['q', 'inputNorm', 'down'] as const) {
        const w = params.blocks[b]![k];
        const grad = ref.grads[b]![k];
        let best = 0;
        for (let i = 1; i < grad.length; i++) if (Math.abs(grad[i]!) > Math.abs(grad[best]!)) best = i;
        for (const i of [best, (pick = (pick * 7919 + 13) % grad.length)]) {
          const old = w[i]!;
          w[i] = old + h;
          const lp = modelForwardRef(shape, params, ids, T).loss;
          w[i] = old - h;
          const lm = modelForwardRef(shape, params, ids, T).loss;
          w[i] = old;
          const d = (lp - lm) / (2 * h);
          fd.push(`b${b}.${k}[${i}] fd ${d.toExponential(4)} vs ${grad[i]!.toExponential(4)}`);
          expect(Math.abs(d - grad[i]!), `b${b}.${k}[${i}]`).toBeLessThan(1e-7 + 1e-6 * Math.abs(grad[i]!));
        }
      }
    }
    console.log(fd.join('; '));

    // cancellation at the first progress report (after the forward): rejects, frees everything
    const tracker2 = trackBuffers(model.rt.device);
    try {
      const ctl = new AbortController();
      const run = computeTaylorScores(model, ids, N, T, { signal: ctl.signal, onProgress: () => ctl.abort() });
      await expect(run).rejects.toBeInstanceOf(CancelledError);
      expect(tracker2.alive(), 'buffers left alive after abort').toEqual([]);
    } finally {
      tracker2.restore();
    }
  });

  it('f16 weights, tied embeddings, llama3 RoPE scaling, LM head in row chunks', async () => {
    const { model, params, ids } = await tinyModel('taylor f16 tied llama3', { f16: true, tied: true, llama3Rope: true });
    models.push(model);
    expect(model.weights.blocks[0]!.q.dtype).toBe('f16');
    const fwd = modelForwardRef(shape, params, ids, T);
    const ref = modelBackwardRef(shape, params, ids, T, fwd);
    // 4 logits rows per chunk (14 rows: chunks of 4, 4, 4, 2)
    const res = await computeTaylorScores(model, ids, N, T, { logitsBudgetBytes: 4 * shape.vocab * 4 });
    const { worst, lines } = maxRelError(res.perWeight, ref.scores);
    console.log(`loss ${res.loss} (ref ${fwd.loss}); ${lines.join(', ')}`);
    expect(Math.abs(res.loss - fwd.loss) / fwd.loss).toBeLessThan(1e-5);
    expect(worst).toBeLessThan(1e-4);
  });
});

const hasFixture = (() => {
  if (!existsSync(join(FIXTURES, 'index.json'))) return false;
  try {
    return Array.isArray(fixtureIndex()?.criteria?.taylor_per_weight);
  } catch {
    return false;
  }
})();

describe.runIf(hasFixture)('Taylor scores of the embedded kjv-tiny-llama vs the PyTorch float64 fixture', () => {
  it('per weight within 1%, per block within 0.5%, loss within 1e-4, same order', async () => {
    const fx = fixtureIndex();
    const calib: number[][] = fx.calibration.ids;
    const n = calib.length;
    const t = calib[0]!.length;
    const ids = Uint32Array.from(calib.flat());
    const model = await loadTestModel();
    try {
      const t0 = performance.now();
      const res = await computeTaylorScores(model, ids, n, t, {
        onProgress: (d, total, what) => console.log(`taylor ${d}/${total} ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`),
      });
      const seconds = (performance.now() - t0) / 1000;
      const crit = fx.criteria;
      const refW: number[][] = crit.taylor_per_weight;
      const refB: number[] = crit.taylor_block;
      const refOrder: number[] = crit.taylor_order;
      const { worst } = maxRelError(res.perWeight, refW);
      let worstBlock = 0;
      res.perBlock.forEach((b, i) => (worstBlock = Math.max(worstBlock, Math.abs(b - refB[i]!) / refB[i]!)));
      const lossErr = Math.abs(res.loss - crit.taylor_loss) / crit.taylor_loss;
      const order = res.perBlock.map((s, i) => [s, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]).map(([, i]) => i);
      const nearTies: string[] = [];
      for (let j = 0; j + 1 < refOrder.length; j++) {
        const [x, y] = [refB[refOrder[j]!]!, refB[refOrder[j + 1]!]!];
        const gap = (y - x) / y;
        if (gap < 0.01) nearTies.push(`blocks ${refOrder[j]} / ${refOrder[j + 1]}: ${(gap * 100).toFixed(3)}%`);
      }
      console.log(
        `kjv-tiny-llama Taylor on ${n}x${t}: ${seconds.toFixed(1)} s; peak ${res.peakBytes} B (estimate ${taylorMemoryEstimate(model.config, n, t)}); ` +
        `max rel err per weight ${worst.toExponential(2)}, per block ${worstBlock.toExponential(2)}, loss ${res.loss} vs ${crit.taylor_loss} (${lossErr.toExponential(2)}); ` +
        `order ${order.join(',')} vs fixture ${refOrder.join(',')}; near-ties (< 1%): ${nearTies.join('; ') || 'none'}`,
      );
      expect(worst).toBeLessThan(0.01);
      expect(worstBlock).toBeLessThan(0.005);
      expect(lossErr).toBeLessThan(1e-4);
      expect(order).toEqual(refOrder);
    } finally {
      model.dispose();
    }
  }, 3_600_000);
});
