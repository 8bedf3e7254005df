/**
 * float64 reference of one LLaMA block + final RMSNorm + LM head + mean cross-entropy, forward and a
 * hand-written backward (chain rule through the per-op references), giving dL/dW for the block's 9
 * weights, their Taylor scores sum |W * dL/dW|, and dL/dx of the block input.
 *   n1 = rms(x0) w_in;  q,k,v = n1 Wq^T, n1 Wk^T, n1 Wv^T;  a = attn(rope(q), rope(k), v)
 *   h = x0 + a Wo^T;  n2 = rms(h) w_post;  m = silu(n2 Wg^T) * (n2 Wu^T);  y = h + m Wd^T
 *   logits = (rms(y) w_final) Wlm^T;  loss = mean CE over labelled rows
 */
import { attentionBackwardRef, attentionRef } from './backward-attention';
import { crossEntropyRef } from './backward-cross-entropy';
import { linearBackwardRef, linearRef, taylorScore } from './backward-linear';
import { rmsnormBackwardRef } from './backward-rmsnorm';
import { ropeBackwardRef, ropeRef } from './backward-rope';
import { swigluBackwardRef, swigluRef } from './backward-swiglu';
import { rmsnormRef } from './rmsnorm';

export interface BlockConfig {
  batch: number;
  seqLen: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  eps: number;
}

/** The 9 scored tensors in score-slot order. */
export const BLOCK_WEIGHTS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'inputNorm', 'postNorm'] as const;
export type BlockWeight = (typeof BLOCK_WEIGHTS)[number];

export interface BlockParams {
  weights: Record<BlockWeight, Float64Array | Float32Array>;
  finalNorm: ArrayLike<number>;
  lmHead: ArrayLike<number>;
  invFreq: ArrayLike<number>;
}

export interface BlockForward {
  n1: Float64Array; q: Float64Array; k: Float64Array; v: Float64Array; qr: Float64Array; kr: Float64Array;
  a: Float64Array; lse: Float64Array; h: Float64Array; n2: Float64Array; g: Float64Array; u: Float64Array;
  m: Float64Array; y: Float64Array; nf: Float64Array; logits: Float64Array; loss: number;
}

export function blockForwardRef(c: BlockConfig, p: BlockParams, x0: ArrayLike<number>, labels: ArrayLike<number>): BlockForward {
  const rows = c.batch * c.seqLen;
  const W = p.weights;
  const [qd, kvd] = [c.heads * c.headDim, c.kvHeads * c.headDim];
  const attnShape = { rows, seqLen: c.seqLen, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
  const n1 = rmsnormRef(x0, W.inputNorm, rows, c.hidden, c.eps);
  const q = linearRef(n1, W.q, rows, qd, c.hidden);
  const k = linearRef(n1, W.k, rows, kvd, c.hidden);
  const v = linearRef(n1, W.v, rows, kvd, c.hidden);
  const qr = ropeRef(q, p.invFreq, rows, c.heads, c.headDim, c.seqLen);
  const kr = ropeRef(k, p.invFreq, rows, c.kvHeads, c.headDim, c.seqLen);
  const { o: a, lse } = attentionRef(qr, kr, v, attnShape);
  const h = add(x0, linearRef(a, W.o, rows, c.hidden, qd));
  const n2 = rmsnormRef(h, W.postNorm, rows, c.hidden, c.eps);
  const g = linearRef(n2, W.gate, rows, c.intermediate, c.hidden);
  const u = linearRef(n2, W.up, rows, c.intermediate, c.hidden);
  const m = swigluRef(g, u);
  const y = add(h, linearRef(m, W.down, rows, c.hidden, c.intermediate));
  const nf = rmsnormRef(y, p.finalNorm, rows, c.hidden, c.eps);
  const logits = linearRef(nf, p.lmHead, rows, c.vocab, c.hidden);
  const loss = crossEntropyRef(logits, labels, rows, c.vocab).loss;
  return { n1, q, k, v, qr, kr, a, lse, h, n2, g, u, m, y, nf, logits, loss };
}

export function blockBackwardRef(
  c: BlockConfig, p: BlockParams, x0: ArrayLike<number>, labels: ArrayLike<number>, f: BlockForward,
): { grads: Record<BlockWeight, Float64Array>; scores: Record<BlockWeight, number>; dx0: Float64Array } {
  const rows = c.batch * c.seqLen;
  const W = p.weights;
  const [qd, kvd, I] = [c.heads * c.headDim, c.kvHeads * c.headDim, c.intermediate];
  const attnShape = { rows, seqLen: c.seqLen, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
  const dz = crossEntropyRef(f.logits, labels, rows, c.vocab).dz;
  const dnf = linearBackwardRef(dz, p.lmHead, f.nf, rows, c.vocab, c.hidden).dx;
  const dy = rmsnormBackwardRef(f.y, p.finalNorm, dnf, rows, c.hidden, c.eps).dx;
  const down = linearBackwardRef(dy, W.down, f.m, rows, c.hidden, I);
  const { dg, du } = swigluBackwardRef(f.g, f.u, down.dx);
  const gate = linearBackwardRef(dg, W.gate, f.n2, rows, I, c.hidden);
  const up = linearBackwardRef(du, W.up, f.n2, rows, I, c.hidden);
  const post = rmsnormBackwardRef(f.h, W.postNorm, add(gate.dx, up.dx), rows, c.hidden, c.eps);
  const dh = add(dy, post.dx);
  const o = linearBackwardRef(dh, W.o, f.a, rows, c.hidden, qd);
  const att = attentionBackwardRef(f.qr, f.kr, f.v, o.dx, attnShape);
  const dq = ropeBackwardRef(att.dq, p.invFreq, rows, c.heads, c.headDim, c.seqLen);
  const dk = ropeBackwardRef(att.dk, p.invFreq, rows, c.kvHeads, c.headDim, c.seqLen);
  const lq = linearBackwardRef(dq, W.q, f.n1, rows, qd, c.hidden);
  const lk = linearBackwardRef(dk, W.k, f.n1, rows, kvd, c.hidden);
  const lv = linearBackwardRef(att.dv, W.v, f.n1, rows, kvd, c.hidden);
  const inp = rmsnormBackwardRef(x0, W.inputNorm, add(add(lq.dx, lk.dx), lv.dx), rows, c.hidden, c.eps);
  const grads: Record<BlockWeight, Float64Array> = {
    q: lq.dw, k: lk.dw, v: lv.dw, o: o.dw, gate: gate.dw, up: up.dw, down: down.dw, inputNorm: inp.dw, postNorm: post.dw,
  };
  const scores = Object.fromEntries(BLOCK_WEIGHTS.map((n) => [n, taylorScore(W[n], grads[n])])) as Record<BlockWeight, number>;
  return { grads, scores, dx0: add(dh, inp.dx) };
}

function add(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}
