/**
 * The LoRA adapter kernels of one linear layer (shaders/lora.wgsl), each one dispatch, f32: the
 * adapter's forward input u = s * dropout(x) A^T, and its backward (u recomputed, dB, du, dA and the
 * adapter's share of dx). The up-projection y += u B^T is the shared matmul's (residual epilogue).
 */
import code from '../../shaders/lora.wgsl?raw';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { encodeAll, prepare, type Buf, type Dispatch, type Encodable } from './common';

const shader = { name: 'lora', code };
const WG = 64;

/** One adapted layer at one batch shape: y [M, N] = x [M, K] W^T + s * dropout(x) A^T B^T. */
export interface LoraLayerArgs {
  M: number;
  N: number;
  K: number;
  r: number;
  /** alpha / r. */
  scale: number;
  /** Dropout probability on the adapter input, in [0, 1) (0: none). */
  p: number;
  /** Tells the layers' dropout masks apart. */
  salt: number;
  /** 16-byte uniform whose first u32 seeds the masks (rewritten per micro-batch). */
  seed: GPUBuffer;
  /** The layer input [M, K]; A [r, K]; B [N, r]. */
  x: Buf;
  a: Buf;
  b: Buf;
  /** Scratch [M, r]: u = s * dropout(x) A^T. */
  u: Buf;
}

export interface LoraBackwardArgs extends LoraLayerArgs {
  /** dL/dy [M, N]. */
  dy: Buf;
  /** Scratch [M, r]: du = s * dy B. */
  du: Buf;
  /** Gradients of A [r, K] and B [N, r], accumulated (zeroed per optimizer step by the trainer). */
  gradA: Buf;
  gradB: Buf;
  /** dL/dx [M, K] holding the frozen path; the adapter's path is added. */
  dx: Buf;
}

function params(rt: GpuRuntime, a: LoraLayerArgs): GPUBuffer {
  if (!(a.p >= 0 && a.p < 1)) throw new RangeError(`LoRA: dropout must be in [0, 1), got ${a.p}`);
  return rt.uniform(packParams([
    { u32: a.M }, { u32: a.N }, { u32: a.K }, { u32: a.r }, { f32: a.scale }, { f32: a.p }, { u32: a.salt >>> 0 }, { u32: 0 },
  ]), 'lora.params');
}

const threads = (rt: GpuRuntime, n: number) => rt.grid(Math.ceil(n / WG));

class Dispatches implements Encodable {
  constructor(private readonly dispatches: Dispatch[]) {}

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}

function down(rt: GpuRuntime, a: LoraLayerArgs, prm: GPUBuffer): Dispatch {
  return prepare(rt, shader, a.K % 4 === 0 ? 'down4' : 'down', { WG }, { 0: prm, 1: a.x, 2: a.a, 4: a.u, 9: a.seed }, threads(rt, a.M * Math.ceil(a.r / 4)));
}

/** u = s * dropout(x) A^T (the forward's adapter input; then y += u B^T). */
export function loraDown(rt: GpuRuntime, a: LoraLayerArgs): Encodable {
  return new Dispatches([down(rt, a, params(rt, a))]);
}

/** The adapter's backward: u again (same mask), dB += dy^T u, du = s * dy B, dA += du^T dropout(x), dx += mask(du A). */
export function loraBackward(rt: GpuRuntime, a: LoraBackwardArgs): Encodable {
  const prm = params(rt, a);
  const chunks = Math.ceil(a.r / 4);
  const wide = a.K % 4 === 0 ? 4 : 1; // input features a thread in grad_a / grad_x (16-byte loads)
  const suffix = wide === 4 ? '4' : '';
  return new Dispatches([
    down(rt, a, prm),
    prepare(rt, shader, 'grad_b', { WG }, { 0: prm, 4: a.u, 5: a.dy, 7: a.gradB }, threads(rt, a.N * chunks)),
    prepare(rt, shader, 'grad_u', { WG }, { 0: prm, 3: a.b, 5: a.dy, 6: a.du }, threads(rt, a.M * chunks)),
    prepare(rt, shader, `grad_a${suffix}`, { WG }, { 0: prm, 1: a.x, 6: a.du, 7: a.gradA, 9: a.seed }, threads(rt, (a.K / wide) * chunks)),
    prepare(rt, shader, `grad_x${suffix}`, { WG }, { 0: prm, 2: a.a, 6: a.du, 8: a.dx, 9: a.seed }, threads(rt, (a.M * a.K) / wide)),
  ]);
}
