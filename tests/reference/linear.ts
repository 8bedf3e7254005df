/** float64 y[m, n] = sum_k x[m, k] * w[n, k] (HF Linear, W [N, K]). */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = s;
    }
  }
  return y;
}

/** The three epilogues of the linear kernels, applied to float64 products. */
export function epilogueRef(
  kind: 'store' | 'residual' | 'swiglu',
  acc: Float64Array,
  resid?: ArrayLike<number>,
  accUp?: Float64Array,
): Float64Array {
  if (kind === 'store') return acc;
  const out = new Float64Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    out[i] = kind === 'residual' ? resid![i]! + acc[i]! : (acc[i]! / (1 + Math.exp(-acc[i]!))) * accUp![i]!;
  }
  return out;
}

import { readF32, uploadBuffer } from '../../src/gpu/buffers';
import type { GpuRuntime } from '../../src/gpu/runtime';
import type { FusedNorm, LinearArgs } from '../../src/kernels/matmul';
import type { QuantDType } from '../../src/gpu/tensor';
import { quantizeRef } from './quant';
import { rmsnormRef } from './rmsnorm';
import { packF16, roundToF16 } from '../../src/util/f16';
import { poisonedF32, runPass } from '../helpers/gpu';
import { firstNonFinite, randomArray, relativeError, seededRandom } from '../helpers/numeric';

export interface LinearCase {
  M: number;
  N: number;
  K: number;
  f16: boolean;
  epilogue: 'store' | 'residual' | 'swiglu';
  maxBindingBytes?: number;
  /** x is a raw residual row and an RMSNorm (weight stored like W) is fused in (matvec only). */
  norm?: boolean;
  /** Store W (and the up weight) quantized (tests/reference/quant.ts packs them); the reference uses the dequantized values. */
  format?: QuantDType;
}

/**
 * Runs one linear kernel (Matmul or Matvec, built by `make`) on seeded random data against the
 * float64 reference; returns { rel, firstBad } (firstBad = first non-finite output, -1 if none).
 */
export async function checkLinear(
  rt: GpuRuntime,
  name: string,
  c: LinearCase,
  make: (a: LinearArgs & { norm?: FusedNorm }) => { encode(pass: GPUComputePassEncoder): void },
): Promise<{ rel: number; firstBad: number }> {
  const { M, N, K, f16, epilogue, format } = c;
  const { normal } = seededRandom(`${name} ${M}x${N}x${K} ${format ?? (f16 ? 'f16' : 'f32')} ${epilogue}${c.norm ? ' norm' : ''}`);
  const x = randomArray(M * K, normal, c.norm ? 3 : 1);
  const g = randomArray(K, normal, 0.3).map((v) => 1 + v);
  const eps = 1e-5;
  const w = randomArray(N * K, normal, 1 / Math.sqrt(K));
  const wu = randomArray(N * K, normal, 1 / Math.sqrt(K));
  const resid = randomArray(M * N, normal);
  const up = (a: Float32Array) => uploadBuffer(rt.device, f16 ? packF16(a) : a, 'w');
  const upW = (a: Float32Array) => (format ? uploadBuffer(rt.device, quantizeRef(a, N, K, format).words, 'w') : up(a));
  const y = epilogue === 'residual' ? uploadBuffer(rt.device, resid, 'y') : poisonedF32(rt, M * N, 'y');
  const op = make({
    M, N, K, dtype: format ?? (f16 ? 'f16' : 'f32'), epilogue, maxBindingBytes: c.maxBindingBytes,
    norm: c.norm ? { weight: up(g), dtype: f16 ? 'f16' : 'f32', eps } : undefined,
    x: uploadBuffer(rt.device, x, 'x'), w: upW(w), wUp: epilogue === 'swiglu' ? upW(wu) : undefined, y,
  });
  runPass(rt, (pass) => op.encode(pass));
  const out = await readF32(rt.device, y, M * N);
  const stored = (a: Float32Array) => (format ? quantizeRef(a, N, K, format).values : f16 ? roundToF16(a) : a);
  const wr = stored(w);
  const wur = stored(wu);
  const xin = c.norm ? rmsnormRef(x, f16 ? roundToF16(g) : g, M, K, eps) : x;
  const ref = epilogueRef(epilogue, linearRef(xin, wr, M, N, K), resid, epilogue === 'swiglu' ? linearRef(xin, wur, M, N, K) : undefined);
  return { rel: relativeError(out, ref), firstBad: firstNonFinite(out) };
}
