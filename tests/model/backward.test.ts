/**
 * The backward pass as a model capability (src/model/backward.ts) on a tiny random LLaMA (2 blocks,
 * hidden 32, 4 heads / 2 kv heads of 16, intermediate 40, vocab 37) loaded by the real loader, with a
 * gradient consumer that copies each linear layer's input x and output gradient dy (what an adapter's
 * gradients are built from) into buffers of its own. Checked against the float64 whole-model
 * reference (tests/reference/taylor-model.ts): the loss, dL/dx at every block input as yielded, every
 * x and dy, dL/dW = dy^T x formed from them, the order of the consumer's calls; the full plan and a
 * pruned one (block 0 skipped).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readF32 } from '../../src/gpu/buffers';
import { FilesSource } from '../../src/io/file-source';
import { loadCheckpoint } from '../../src/io/load';
import { ResidualAdd } from '../../src/kernels/elementwise';
import { backward, type GradientConsumer, type LinearName } from '../../src/model/backward';
import { LlamaModel } from '../../src/model/model';
import { testRuntime } from '../helpers/gpu';
import { relativeError } from '../helpers/numeric';
import { asFiles, makeSyntheticCheckpoint } from '../helpers/synthetic-checkpoint';
import { invFreqRef } from '../reference/rope';
import { modelBackwardRef, modelForwardRef, type ModelParams, type ModelShape } from '../reference/taylor-model';

const shape: ModelShape = { layers: 2, hidden: 32, heads: 4, kvHeads: 2, headDim: 16, intermediate: 40, vocab: 37, eps: 1e-5 };
const [N, T] = [2, 7];
const R = N * T;
const HF: Record<string, string> = {
  q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj', gate: 'mlp.gate_proj', up: 'mlp.up_proj',
  down: 'mlp.down_proj', inputNorm: 'input_layernorm', postNorm: 'post_attention_layernorm',
};
const LINEARS: readonly LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** dW[n, k] = sum_m dy[m, n] x[m, k] in float64. */
function weightGrad(dy: ArrayLike<number>, x: ArrayLike<number>, M: number, Nout: number, K: number): Float64Array {
  const dw = new Float64Array(Nout * K);
  for (let m = 0; m < M; m++) for (let n = 0; n < Nout; n++) for (let k = 0; k < K; k++) dw[n * K + k] += dy[m * Nout + n]! * x[m * K + k]!;
  return dw;
}

describe('backward pass with a gradient consumer (tiny random LLaMA vs float64)', () => {
  const models: LlamaModel[] = [];
  afterAll(() => models.forEach((m) => m.dispose()));

  for (const plan of [[0, 1], [1]]) {
    it(`plan ${plan.join(',')}: loss, dL/dx per block, every linear's x and dy, dL/dW`, async () => {
      const ckpt = makeSyntheticCheckpoint({
        hidden: shape.hidden, intermediate: shape.intermediate, layers: shape.layers, heads: shape.heads, kvHeads: shape.kvHeads,
        headDim: shape.headDim, vocab: shape.vocab, dtype: 'F32', seed: 77,
      });
      const values = new Map(ckpt.tensors.map((t) => [t.name, Float64Array.from(new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4))]));
      const t = (name: string) => values.get(name)!;
      const rt = await testRuntime();
      const model = new LlamaModel(rt, await loadCheckpoint(rt.device, new FilesSource(asFiles(ckpt.files, `backward_${plan.join('_')}`))));
      models.push(model);
      const params: ModelParams = {
        embed: t('model.embed_tokens.weight'),
        // the reference runs the plan's blocks only
        blocks: plan.map((i) => Object.fromEntries(Object.entries(HF).map(([k, n]) => [k, t(`model.layers.${i}.${n}.weight`)])) as ModelParams['blocks'][number]),
        finalNorm: t('model.norm.weight'),
        lmHead: t('lm_head.weight'),
        invFreq: Float32Array.from(invFreqRef(shape.headDim, ckpt.config.rope_theta as number)),
      };
      const ids = Uint32Array.from({ length: R }, (_, i) => (i * 11 + 5) % shape.vocab);
      const refShape = { ...shape, layers: plan.length };
      const fwd = modelForwardRef(refShape, params, ids, T);
      const ref = modelBackwardRef(refShape, params, ids, T, fwd);

      // the consumer: copies x and dy (ResidualAdd into zeroed buffers it owns) and logs its calls
      const dims = (name: LinearName) => {
        const [qd, kvd, H, I] = [shape.heads * shape.headDim, shape.kvHeads * shape.headDim, shape.hidden, shape.intermediate];
        return ({ q: [qd, H], k: [kvd, H], v: [kvd, H], o: [H, qd], gate: [I, H], up: [I, H], down: [H, I] } as const)[name];
      };
      const copies = new Map<string, { x: GPUBuffer; dy: GPUBuffer }>();
      for (const b of plan) for (const name of LINEARS) {
        const [Nout, K] = dims(name);
        copies.set(`${b}.${name}`, { x: createStorageBuffer(rt.device, R * K * 4, 'x copy'), dy: createStorageBuffer(rt.device, R * Nout * 4, 'dy copy') });
      }
      const calls: string[] = [];
      const consumer: GradientConsumer = {
        linear: (rt2, g) => {
          calls.push(`${g.block}.${g.name}`);
          expect([g.N, g.K]).toEqual(dims(g.name));
          const c = copies.get(`${g.block}.${g.name}`)!;
          return [new ResidualAdd(rt2, { n: g.M * g.K, x: g.x, y: c.x }), new ResidualAdd(rt2, { n: g.M * g.N, x: g.dy, y: c.dy })];
        },
        norm: (_, g) => {
          calls.push(`${g.block}.${g.name}`);
          return [];
        },
      };

      let loss = NaN;
      const dx = new Map<number, Float32Array>();
      for await (const s of backward(model, ids, N, T, consumer, { plan })) {
        if (s.stage === 'loss') {
          const [sum, count] = await readF32(rt.device, s.loss, 2);
          loss = sum! / count!;
        }
        if (s.stage === 'block') dx.set(s.block, await readF32(rt.device, s.dx, R * shape.hidden));
      }

      expect(Math.abs(loss - fwd.loss) / fwd.loss).toBeLessThan(1e-5);
      expect(calls).toEqual([...plan].reverse().flatMap((b) => ['down', 'gate', 'up', 'postNorm', 'o', 'q', 'k', 'v', 'inputNorm'].map((n) => `${b}.${n}`)));
      const lines: string[] = [];
      for (const [j, b] of plan.entries()) {
        const A = fwd.blocks[j]!;
        const eDx = relativeError(dx.get(b)!, ref.dx[j]!);
        lines.push(`block ${b} dx ${eDx.toExponential(1)}`);
        expect(eDx, `block ${b} dx`).toBeLessThan(1e-5);
        const input: Record<LinearName, Float64Array> = { q: A.n1, k: A.n1, v: A.n1, o: A.a, gate: A.n2, up: A.n2, down: A.m };
        for (const name of LINEARS) {
          const [Nout, K] = dims(name);
          const c = copies.get(`${b}.${name}`)!;
          const x = await readF32(rt.device, c.x, R * K);
          const dy = await readF32(rt.device, c.dy, R * Nout);
          const [ex, edy] = [relativeError(x, input[name]), relativeError(dy, ref.outGrads[j]![name])];
          const edw = relativeError(weightGrad(dy, x, R, Nout, K), ref.grads[j]![name]);
          lines.push(`${b}.${name} x ${ex.toExponential(1)} dy ${edy.toExponential(1)} dW ${edw.toExponential(1)}`);
          expect(ex, `${b}.${name} x`).toBeLessThan(1e-5);
          expect(edy, `${b}.${name} dy`).toBeLessThan(1e-5);
          expect(edw, `${b}.${name} dW`).toBeLessThan(1e-5);
        }
      }
      console.log(`loss ${loss} (ref ${fwd.loss}); ${lines.join(', ')}`);
    });
  }
});
