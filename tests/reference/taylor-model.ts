/**
 * float64 reference of a whole LLaMA (embedding, L blocks, final RMSNorm, LM head, mean next-token
 * cross-entropy) and its hand-written backward through every block in reverse, chaining the per-op
 * references of the backward kernels; gives dL/dW of every block weight and the Taylor scores
 * sum |W * dL/dW| (embedding, final norm and head are not scored).
 *   x_0 = E[ids];  x_{i+1} = block_i(x_i) (tests/reference/backward-block.ts notation);
 *   logits = (rms(x_L) w_final) Wlm^T;  loss = mean CE over labelled rows (label = next token of the
 *   same sequence, the last position of each sequence unlabelled)
 */
import { attentionBackwardRef } from './backward-attention';
import { BLOCK_WEIGHTS, blockForwardRef, type BlockConfig, type BlockForward, type BlockWeight } from './backward-block';
import { crossEntropyRef, IGNORE } from './backward-cross-entropy';
import { linearBackwardRef, linearRef, taylorScore } from './backward-linear';
import { rmsnormBackwardRef } from './backward-rmsnorm';
import { ropeBackwardRef } from './backward-rope';
import { swigluBackwardRef } from './backward-swiglu';
import { rmsnormRef } from './rmsnorm';

export type ModelShape = Omit<BlockConfig, 'batch' | 'seqLen'> & { layers: number };

/** Slot order of the 9 scored weights (fixtures' weight_kinds). */
export const KINDS = BLOCK_WEIGHTS;
export type Kind = BlockWeight;

export interface ModelParams {
  embed: Float64Array;
  blocks: Record<Kind, Float64Array>[];
  finalNorm: Float64Array;
  lmHead: Float64Array;
  /** RoPE inverse frequencies [headDim / 2] (f32 values: the angle is the f32 product pos * inv_freq). */
  invFreq: ArrayLike<number>;
}

type BlockActs = BlockForward & { x0: Float64Array };

export function nextTokenLabels(ids: ArrayLike<number>, T: number): Uint32Array {
  const labels = new Uint32Array(ids.length);
  for (let r = 0; r < ids.length; r++) labels[r] = (r + 1) % T === 0 ? IGNORE : ids[r + 1]!;
  return labels;
}

function add(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

export interface ModelForward {
  blocks: BlockActs[];
  xL: Float64Array;
  nf: Float64Array;
  logits: Float64Array;
  loss: number;
}

export function modelForwardRef(c: ModelShape, p: ModelParams, ids: ArrayLike<number>, T: number): ModelForward {
  const rows = ids.length;
  let x: Float64Array = new Float64Array(rows * c.hidden);
  for (let r = 0; r < rows; r++) x.set(p.embed.subarray(ids[r]! * c.hidden, (ids[r]! + 1) * c.hidden), r * c.hidden);
  const labels = nextTokenLabels(ids, T);
  const blocks: BlockActs[] = [];
  for (const weights of p.blocks) {
    // one block (its head/loss outputs are not used here): activations and the output y
    const f = blockForwardRef({ ...c, batch: rows / T, seqLen: T }, { ...p, weights }, x, labels);
    blocks.push({ ...f, x0: x });
    x = f.y;
  }
  const nf = rmsnormRef(x, p.finalNorm, rows, c.hidden, c.eps);
  const logits = linearRef(nf, p.lmHead, rows, c.vocab, c.hidden);
  const loss = crossEntropyRef(logits, labels, rows, c.vocab).loss;
  return { blocks, xL: x, nf, logits, loss };
}

export interface ModelBackward {
  /** grads[i][kind] = dL/dW of block i's weight. */
  grads: Record<Kind, Float64Array>[];
  /** scores[i][k] = sum |W * dL/dW|, k in KINDS order. */
  scores: number[][];
  /** outGrads[i][linear] = dL/d(output) of block i's linear layer [rows, out features]. */
  outGrads: Record<'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down', Float64Array>[];
  /** dx[i] = dL/d(input of block i) [rows, hidden]. */
  dx: Float64Array[];
}

export function modelBackwardRef(c: ModelShape, p: ModelParams, ids: ArrayLike<number>, T: number, f: ModelForward): ModelBackward {
  const rows = ids.length;
  const [qd, kvd, I] = [c.heads * c.headDim, c.kvHeads * c.headDim, c.intermediate];
  const attnShape = { rows, seqLen: T, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
  const dz = crossEntropyRef(f.logits, nextTokenLabels(ids, T), rows, c.vocab).dz;
  const dnf = linearBackwardRef(dz, p.lmHead, f.nf, rows, c.vocab, c.hidden).dx;
  let dy = rmsnormBackwardRef(f.xL, p.finalNorm, dnf, rows, c.hidden, c.eps).dx;
  const grads: Record<Kind, Float64Array>[] = new Array(p.blocks.length);
  const outGrads: ModelBackward['outGrads'] = new Array(p.blocks.length);
  const dxs: Float64Array[] = new Array(p.blocks.length);
  for (let i = p.blocks.length - 1; i >= 0; i--) {
    const W = p.blocks[i]!;
    const A = f.blocks[i]!;
    const down = linearBackwardRef(dy, W.down, A.m, rows, c.hidden, I);
    const { dg, du } = swigluBackwardRef(A.g, A.u, down.dx);
    const gate = linearBackwardRef(dg, W.gate, A.n2, rows, I, c.hidden);
    const up = linearBackwardRef(du, W.up, A.n2, rows, I, c.hidden);
    const post = rmsnormBackwardRef(A.h, W.postNorm, add(gate.dx, up.dx), rows, c.hidden, c.eps);
    const dh = add(dy, post.dx);
    const o = linearBackwardRef(dh, W.o, A.a, rows, c.hidden, qd);
    const att = attentionBackwardRef(A.qr, A.kr, A.v, o.dx, attnShape);
    const dq = ropeBackwardRef(att.dq, p.invFreq, rows, c.heads, c.headDim, T);
    const dk = ropeBackwardRef(att.dk, p.invFreq, rows, c.kvHeads, c.headDim, T);
    const lq = linearBackwardRef(dq, W.q, A.n1, rows, qd, c.hidden);
    const lk = linearBackwardRef(dk, W.k, A.n1, rows, kvd, c.hidden);
    const lv = linearBackwardRef(att.dv, W.v, A.n1, rows, kvd, c.hidden);
    const inp = rmsnormBackwardRef(A.x0, W.inputNorm, add(add(lq.dx, lk.dx), lv.dx), rows, c.hidden, c.eps);
    grads[i] = { q: lq.dw, k: lk.dw, v: lv.dw, o: o.dw, gate: gate.dw, up: up.dw, down: down.dw, inputNorm: inp.dw, postNorm: post.dw };
    outGrads[i] = { q: dq, k: dk, v: att.dv, o: dh, gate: dg, up: du, down: dy };
    dy = add(dh, inp.dx);
    dxs[i] = dy;
  }
  const scores = grads.map((g, i) => KINDS.map((k) => taylorScore(p.blocks[i]![k], g[k])));
  return { grads, scores, outGrads, dx: dxs };
}
