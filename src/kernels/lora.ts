/**
 * The LoRA kernels the shared matmul / backward-linear kernels cannot serve (shaders/lora.wgsl):
 * the weight-gradient GEMM over rows, an in-place scale and seeded dropout. All f32.
 */
import code from '../../shaders/lora.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { encodeAll, prepare, type Buf, type Dispatch } from './common';

const shader = { name: 'lora', code };
const WG = 256;

interface LoraParams {
  M: number;
  N?: number;
  K?: number;
  accumulate?: boolean;
  scale?: number;
  p?: number;
  salt?: number;
}

function params(rt: GpuRuntime, o: LoraParams, label: string): GPUBuffer {
  return rt.uniform(packParams([
    { u32: o.M }, { u32: o.N ?? 0 }, { u32: o.K ?? 0 }, { u32: o.accumulate ? 1 : 0 },
    { f32: o.scale ?? 1 }, { f32: o.p ?? 0 }, { u32: (o.salt ?? 0) >>> 0 }, { u32: 0 },
  ]), label);
}

class LoraOp {
  constructor(private readonly dispatch: Dispatch) {}

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}

/** dW (+)= dy^T x: dy f32 [M, N], x f32 [M, K] -> dw f32 [N, K] (the gradient of W in y = x W^T). */
export class WeightGrad extends LoraOp {
  constructor(rt: GpuRuntime, a: { M: number; N: number; K: number; dy: Buf; x: Buf; dw: Buf; accumulate?: boolean }) {
    const p = params(rt, { M: a.M, N: a.N, K: a.K, accumulate: a.accumulate }, 'lora.weight_grad.params');
    super(prepare(rt, shader, 'weight_grad', { WG }, { 0: p, 1: a.dy, 2: a.x, 3: a.dw }, rt.grid(Math.ceil((a.N * a.K) / WG))));
  }
}

/** y *= scale in place over n f32 elements. */
export class Scale extends LoraOp {
  constructor(rt: GpuRuntime, a: { n: number; scale: number; y: Buf }) {
    const p = params(rt, { M: a.n, scale: a.scale }, 'lora.scale.params');
    super(prepare(rt, shader, 'scale', { WG }, { 0: p, 3: a.y }, rt.grid(Math.ceil(a.n / WG))));
  }
}

/**
 * y (+)= x * keep / (1 - p) over n f32 elements, keep drawn from (seed, salt, index) (see the shader):
 * `seed` is a 16-byte uniform whose first u32 the trainer rewrites per micro-batch; `salt` tells the
 * layers apart. The same seed, salt and n give the same mask (the backward's dx is masked with it).
 */
export class Dropout extends LoraOp {
  constructor(rt: GpuRuntime, a: { n: number; p: number; salt: number; seed: GPUBuffer; x: Buf; y: Buf; accumulate?: boolean }) {
    if (!(a.p >= 0 && a.p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${a.p}`);
    const p = params(rt, { M: a.n, p: a.p, salt: a.salt, accumulate: a.accumulate }, 'lora.dropout.params');
    super(prepare(rt, shader, 'dropout', { WG }, { 0: p, 2: a.x, 3: a.y, 4: a.seed }, rt.grid(Math.ceil(a.n / WG))));
  }
}
