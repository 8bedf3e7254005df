/**
 * Micro end-to-end check of the Taylor backward: one tiny LLaMA block + final norm + LM head + mean CE.
 * Forward activations (O and lse included) come from the float64 reference, rounded to f32; the whole
 * backward runs on the GPU in one pass, in the order the engine uses (the `ops` list below;
 * src/kernels/backward/README.md, src/model/backward.ts), with the Taylor score ops after each weight's dx.
 * Checked: (a) every weight's score against the hand-written f64 backward, dL/dx0 likewise;
 * (b) central finite differences of the f64 loss for single weights (validating (a)'s gradients)
 * and for block-input elements (validating the GPU's dL/dx0 directly).
 */
import { describe, expect, it } from 'vitest';
import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import { AttentionBackward } from '../../src/kernels/backward/attention';
import { CrossEntropyBackward } from '../../src/kernels/backward/cross-entropy';
import { IGNORE_LABEL } from '../../src/kernels/loss';
import { LinearBackward, LinearScore } from '../../src/kernels/backward/linear';
import { RmsNormBackward, RmsNormScore } from '../../src/kernels/backward/rmsnorm';
import { RopeBackward } from '../../src/kernels/backward/rope';
import { ropeInvFreq } from '../../src/kernels/rope';
import { SwiGluBackward } from '../../src/kernels/backward/swiglu';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass, testRuntime } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';
import {
  BLOCK_WEIGHTS, blockBackwardRef, blockForwardRef, type BlockConfig, type BlockParams, type BlockWeight,
} from '../reference/backward-block';

const cfg: BlockConfig = {
  batch: 2, seqLen: 7, hidden: 24, heads: 4, kvHeads: 2, headDim: 6, intermediate: 40, vocab: 37, eps: 1e-5,
};

function makeProblem(name: string, weightF16: boolean) {
  const { normal, uniform } = seededRandom(name);
  const c = cfg;
  const rows = c.batch * c.seqLen;
  const [qd, kvd] = [c.heads * c.headDim, c.kvHeads * c.headDim];
  const lin = (n: number, k: number) => randomArray(n * k, normal, 1 / Math.sqrt(k));
  const norm = (n: number) => randomArray(n, normal, 0.2).map((v) => 1 + v);
  const raw: Record<BlockWeight, Float32Array> = {
    q: lin(qd, c.hidden), k: lin(kvd, c.hidden), v: lin(kvd, c.hidden), o: lin(c.hidden, qd),
    gate: lin(c.intermediate, c.hidden), up: lin(c.intermediate, c.hidden), down: lin(c.hidden, c.intermediate),
    inputNorm: norm(c.hidden), postNorm: norm(c.hidden),
  };
  // the reference sees the weights the kernels decode (f16-rounded when stored as f16)
  const weights = Object.fromEntries(
    BLOCK_WEIGHTS.map((n) => [n, weightF16 ? roundToF16(raw[n]) : Float64Array.from(raw[n])]),
  ) as Record<BlockWeight, Float64Array>;
  const params: BlockParams = {
    weights, finalNorm: norm(c.hidden), lmHead: lin(c.vocab, c.hidden), invFreq: Float32Array.from(ropeInvFreq(c.headDim, 10000)),
  };
  // f32-representable values held in f64, so finite-difference steps are not rounded away
  const x0 = Float64Array.from(randomArray(rows * c.hidden, normal));
  const labels = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) labels[r] = r % c.seqLen === c.seqLen - 1 ? IGNORE_LABEL : Math.floor(uniform() * c.vocab);
  return { raw, params, x0, labels, rows, qd, kvd, uniform };
}

describe('backward block: Taylor scores of one LLaMA block through the chained kernels', () => {
  for (const weightF16 of [false, true]) {
    it(`scores, dL/dx0 and finite differences (weights ${weightF16 ? 'f16' : 'f32'})`, async () => {
      const rt = await testRuntime();
      const dev = rt.device;
      const c = cfg;
      const pr = makeProblem(`backward-block ${weightF16 ? 'f16' : 'f32'}`, weightF16);
      const { params, x0, labels, rows, qd, kvd } = pr;
      const fwd = blockForwardRef(c, params, x0, labels);
      const ref = blockBackwardRef(c, params, x0, labels, fwd);

      // --- GPU buffers: weights, forward activations (f32), gradients, scores
      const up = (a: ArrayLike<number>, label: string) => uploadBuffer(dev, Float32Array.from(a), label);
      const W = Object.fromEntries(BLOCK_WEIGHTS.map((n) => [n, uploadBuffer(dev, weightF16 ? packF16(pr.raw[n]) : pr.raw[n], n)])) as Record<BlockWeight, GPUBuffer>;
      const act = {
        x0: up(x0, 'x0'), n1: up(fwd.n1, 'n1'), qr: up(fwd.qr, 'qr'), kr: up(fwd.kr, 'kr'), v: up(fwd.v, 'v'),
        h: up(fwd.h, 'h'), n2: up(fwd.n2, 'n2'), g: up(fwd.g, 'g'), u: up(fwd.u, 'u'), m: up(fwd.m, 'm'),
        y: up(fwd.y, 'y'), nf: up(fwd.nf, 'nf'), logits: up(fwd.logits, 'logits'),
      };
      const attnO = up(fwd.a, 'attn.o');
      const lse = up(fwd.lse, 'attn.lse');
      const loss = poisonedF32(rt, 2, 'loss');
      const dResid = poisonedF32(rt, rows * c.hidden, 'dResid'); // dy -> dh -> dx0 (accumulated in place)
      const dNorm = poisonedF32(rt, rows * c.hidden, 'dNorm'); // dnf, then dn2, then dn1
      const dm = poisonedF32(rt, rows * c.intermediate, 'dm');
      const da = poisonedF32(rt, rows * qd, 'da');
      const [dQ, dK, dV] = [poisonedF32(rt, rows * qd, 'dQ'), poisonedF32(rt, rows * kvd, 'dK'), poisonedF32(rt, rows * kvd, 'dV')];
      const scores = poisonedF32(rt, BLOCK_WEIGHTS.length, 'scores');
      const slot = (n: BlockWeight) => ({ scores, slot: BLOCK_WEIGHTS.indexOf(n) });
      const M = rows;
      const dtype = weightF16 ? 'f16' as const : 'f32' as const;
      /** dx = (+=) dy W, then the weight's Taylor score (the engine's gradient consumer). */
      const linear = (n: BlockWeight, N: number, K: number, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, accumulate = false) => [
        new LinearBackward(rt, { M, N, K, dtype, dy, w: W[n], dx, accumulate }),
        new LinearScore(rt, { M, N, K, dtype, dy, w: W[n], x, score: slot(n) }),
      ];
      const norm = (n: BlockWeight, x: GPUBuffer) => {
        const shape = { rows, dim: c.hidden, eps: c.eps, weightF16, x, w: W[n], dy: dNorm };
        const op = new RmsNormBackward(rt, { ...shape, dx: dResid, accumulate: true });
        return [op, new RmsNormScore(rt, { ...shape, rinv: op.rinv, score: slot(n) })];
      };
      const heads = { B: c.batch, T: c.seqLen, nHeads: c.heads, nKvHeads: c.kvHeads, headDim: c.headDim };
      // params.invFreq is f32 ropeInvFreq(headDim, 10000), the table the engine's RoPE kernels bind
      const rope = { rows, T: c.seqLen, headDim: c.headDim, nHeads: c.heads, nKvHeads: c.kvHeads, theta: 10000 };

      // --- the backward, in engine order
      const ops = [
        new CrossEntropyBackward(rt, { rows, V: c.vocab, logits: act.logits, labels: uploadBuffer(dev, labels, 'labels'), loss }),
        new LinearBackward(rt, { M, N: c.vocab, K: c.hidden, dtype: 'f32', dy: act.logits, w: up(params.lmHead, 'lm'), dx: dNorm }),
        new RmsNormBackward(rt, { rows, dim: c.hidden, eps: c.eps, weightF16: false, x: act.y, w: up(params.finalNorm, 'wf'), dy: dNorm, dx: dResid }),
        ...linear('down', c.hidden, c.intermediate, act.m, dResid, dm),
        new SwiGluBackward(rt, { n: rows * c.intermediate, g: act.g, u: act.u, dh: dm }), // in place: g <- dg, u <- du
        ...linear('gate', c.intermediate, c.hidden, act.n2, act.g, dNorm),
        ...linear('up', c.intermediate, c.hidden, act.n2, act.u, dNorm, true),
        ...norm('postNorm', act.h),
        ...linear('o', c.hidden, qd, attnO, dResid, da),
        new AttentionBackward(rt, { ...heads, q: act.qr, k: act.kr, v: act.v, out: attnO, lse, dOut: da, dq: dQ, dk: dK, dv: dV }),
        new RopeBackward(rt, { ...rope, dq: dQ, dk: dK }),
        ...linear('q', qd, c.hidden, act.n1, dQ, dNorm),
        ...linear('k', kvd, c.hidden, act.n1, dK, dNorm, true),
        ...linear('v', kvd, c.hidden, act.n1, dV, dNorm, true),
        ...norm('inputNorm', act.x0),
      ];
      runPass(rt, (pass) => ops.forEach((op) => op.encode(pass)));

      const gpuScores = await readF32(dev, scores, BLOCK_WEIGHTS.length);
      const [nllSum, count] = await readF32(dev, loss, 2);
      const dx0 = await readF32(dev, dResid, rows * c.hidden);
      expect(firstNonFinite(gpuScores)).toBe(-1);
      expect(firstNonFinite(dx0)).toBe(-1);
      expect(Math.abs(nllSum! / count! - fwd.loss) / fwd.loss).toBeLessThan(1e-5);

      // (a) against the f64 hand-written backward
      const lines: string[] = [];
      for (const [i, n] of BLOCK_WEIGHTS.entries()) {
        const e = Math.abs(gpuScores[i]! - ref.scores[n]) / ref.scores[n];
        lines.push(`${n} ${ref.scores[n].toPrecision(6)} (rel err ${e.toExponential(2)})`);
        expect(e, n).toBeLessThan(1e-5);
      }
      const eDx = relativeError(dx0, ref.dx0);
      console.log(`loss ${fwd.loss.toFixed(6)}; scores: ${lines.join(', ')}; dL/dx0 rel err ${eDx.toExponential(2)}`);
      expect(eDx).toBeLessThan(1e-5);

      // (b) central finite differences of the f64 loss. Step 1e-5: truncation ~ h^2 |L'''| ~ 1e-10,
      // rounding ~ 1e-16 * L / h ~ 1e-11; bound 1e-7 absolute + 1e-6 relative.
      const h = 1e-5;
      const lossWith = (mutate: () => () => void) => {
        const undo = mutate();
        const l = blockForwardRef(c, params, x0, labels).loss;
        undo();
        return l;
      };
      const fdLines: string[] = [];
      for (const n of BLOCK_WEIGHTS) {
        const w = params.weights[n] as Float64Array;
        // the element with the largest |gradient| and one random element
        const grad = ref.grads[n];
        let best = 0;
        for (let i = 1; i < grad.length; i++) if (Math.abs(grad[i]!) > Math.abs(grad[best]!)) best = i;
        for (const i of [best, Math.floor(pr.uniform() * w.length)]) {
          const at = (d: number) => lossWith(() => {
            const old = w[i]!;
            w[i] = old + d;
            return () => { w[i] = old; };
          });
          const fd = (at(h) - at(-h)) / (2 * h);
          fdLines.push(`${n}[${i}] fd ${fd.toExponential(4)} vs ${grad[i]!.toExponential(4)}`);
          expect(Math.abs(fd - grad[i]!), `${n}[${i}]`).toBeLessThan(1e-7 + 1e-6 * Math.abs(grad[i]!));
        }
      }
      // block input: finite differences against the GPU's dL/dx0 directly (f32: 1e-5 of max |dx0|)
      let maxDx = 0;
      for (const v of ref.dx0) maxDx = Math.max(maxDx, Math.abs(v));
      for (let t = 0; t < 4; t++) {
        // skip the last position of each sequence: its label is ignored and nothing attends to it, so dL/dx = 0
        let row = Math.floor(pr.uniform() * rows);
        if (row % c.seqLen === c.seqLen - 1) row -= 1;
        const i = row * c.hidden + Math.floor(pr.uniform() * c.hidden);
        const at = (d: number) => lossWith(() => {
          const old = x0[i]!;
          x0[i] = old + d;
          return () => { x0[i] = old; };
        });
        const fd = (at(h) - at(-h)) / (2 * h);
        fdLines.push(`x0[${i}] fd ${fd.toExponential(4)} vs gpu ${dx0[i]!.toExponential(4)}`);
        expect(Math.abs(fd - dx0[i]!), `x0[${i}]`).toBeLessThan(1e-5 * maxDx);
      }
      console.log(fdLines.join('; '));
    });
  }
});
