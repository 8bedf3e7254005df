import { createStorageBuffer } from '../gpu/buffers';
import { isCpuAdapter } from '../gpu/device';
import { deviceBuffer } from '../gpu/device-buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { shaderOf } from '../gpu/wgsl-include';
import type { StorageDType } from '../gpu/tensor';
import { weightConstants } from '../quant/formats';
import { bindAt, encodeAll, planWeightSlices, type Dispatch } from './common';

/** What happens to x W^T before it is stored. */
export type Epilogue = 'store' | 'residual' | 'swiglu';
const EPI: Record<Epilogue, number> = { store: 0, residual: 1, swiglu: 2 };

/**
 * A linear layer y = x W^T over M rows: x f32 [M, K], W [N, K] (HF layout: f32, packed f16, or q8 / q4 rows).
 *   epilogue 'store'    y = x W^T
 *            'residual' y += x W^T   (y holds the residual stream; in place)
 *            'swiglu'   y = silu(x Wg^T) * (x Wu^T)   with w = Wg (gate) and wUp = Wu (up)
 */
export interface LinearArgs {
  M: number;
  N: number;
  K: number;
  dtype: StorageDType;
  x: GPUBuffer;
  w: GPUBuffer;
  y: GPUBuffer;
  epilogue?: Epilogue;
  /** Up-projection weight for epilogue 'swiglu'. */
  wUp?: GPUBuffer;
  /** Row stride of y in elements (default N) and first column written (default 0). */
  ldy?: number;
  yColOffset?: number;
  /** Test hook: pretend maxStorageBufferBindingSize is this many bytes (forces weight row windows). */
  maxBindingBytes?: number;
}

/** An input RMSNorm fused into a matvec: its weight [K] and epsilon. */
export interface FusedNorm {
  weight: GPUBuffer;
  dtype: StorageDType;
  eps: number;
}

/** A further projection of the same x in one matvec dispatch (k and v beside q): weight [N, K] -> y [M, N]. */
export interface Projection {
  w: GPUBuffer;
  y: GPUBuffer;
  N: number;
}

/** What only matvec pipelines bind (5, 7, 8): the fused RMSNorm and the second and third projections. */
export interface MatvecExtras {
  norm?: FusedNorm;
  more?: readonly [Projection, Projection];
}

/** A variant of shaders/linear.wgsl (see its header): the files that give it just the bindings it reads. */
export interface LinearVariant {
  weights: 'one_weight' | 'gate_up' | 'qkv';
  norm?: boolean;
  splitK?: boolean;
  subgroups?: boolean;
}

export function linearShader(v: LinearVariant): { name: string; code: string } {
  return shaderOf([
    v.subgroups ? 'linear_subgroups.wgsl' : 'linear.wgsl',
    `linear/${v.weights}.wgsl`,
    `linear/${v.norm ? 'norm' : 'plain'}.wgsl`,
    `linear/${v.splitK ? 'split_k' : 'whole_k'}.wgsl`,
  ]);
}

/** The weights variant for an epilogue: SwiGLU reads the gate and up weights, the others one. */
export function weightsFor(epilogue: Epilogue | undefined): LinearVariant['weights'] {
  return epilogue === 'swiglu' ? 'gate_up' : 'one_weight';
}

/**
 * Shared by Matmul and Matvec: one bind group per weight row window (the LM head can exceed
 * maxStorageBufferBindingSize), each with its own Params uniform { M, N_window, K, ldy, n_off, eps, n1, n2 }.
 * Binds exactly what the pipeline's variant (linearShader) reads.
 */
export function linearBindGroups(
  rt: GpuRuntime,
  pipeline: GPUComputePipeline,
  a: LinearArgs,
  label: string,
  matvec?: MatvecExtras,
  /** `matmul_wide_split`: binding 9, the split-K partial sums (which it writes instead of y). */
  part?: GPUBufferBinding,
): { bindGroup: GPUBindGroup; rows: number }[] {
  const epi = a.epilogue ?? 'store';
  if (epi === 'swiglu' && !a.wUp) throw new Error(`${label}: epilogue swiglu needs wUp`);
  const ldy = a.ldy ?? a.N;
  const colOffset = a.yColOffset ?? 0;
  const [k, v] = matvec?.more ?? [];
  const slices = planWeightSlices(rt, a.N, a.K, a.dtype, a.w, a.maxBindingBytes);
  if (k && v && (slices.length > 1 || planWeightSlices(rt, k.N, a.K, a.dtype, k.w).length > 1 || planWeightSlices(rt, v.N, a.K, a.dtype, v.w).length > 1)) {
    throw new Error(`${label}: projections in one dispatch must each fit one binding`);
  }
  return slices.map((s) => {
    const params = rt.uniform(
      packParams([
        { u32: a.M }, { u32: s.rows }, { u32: a.K }, { u32: ldy }, { u32: colOffset + s.row0 }, { f32: matvec?.norm?.eps ?? 0 },
        { u32: k?.N ?? 0 }, { u32: v?.N ?? 0 },
      ]),
      `${label}.params`,
    );
    const window = (buffer: GPUBuffer) => ({ buffer, offset: s.offset, size: s.size });
    const resources: Record<number, GPUBuffer | GPUBufferBinding> = { 0: params, 1: a.x, 2: window(a.w) };
    if (part) resources[9] = part;
    else resources[4] = a.y;
    if (k && v) Object.assign(resources, { 3: k.w, 6: v.w, 7: k.y, 8: v.y });
    else if (epi === 'swiglu') resources[3] = window(a.wUp!);
    if (matvec?.norm) resources[5] = matvec.norm.weight;
    const bindGroup = bindAt(rt, pipeline, resources, label);
    return { bindGroup, rows: s.rows + (k?.N ?? 0) + (v?.N ?? 0) };
  });
}

/**
 * Which matmul kernel: tiled in workgroup memory with 4x4 blocks per thread (GPUs), the same with 8x8
 * blocks (`wide`: half the shared-memory loads per FMA, and split K when there are few tiles; a
 * candidate benchmarked beside `tiled` until a GPU run decides the default), or register-tiled
 * straight from the buffers (CPU adapters).
 */
export type MatmulKernel = 'tiled' | 'wide' | 'direct';

/** Workgroups a `wide` matmul aims for: 64-thread groups, several per SM on a large GPU (an H200 has 132). */
const WIDE_TARGET_GROUPS = 1024;
/** Bytes of the per-device split-K workspace that `wide` matmuls share (they run one after another). */
const SPLIT_WORKSPACE_BYTES = 32 << 20;
/** Shortest K slice worth a workgroup (16 BK steps). */
const MIN_SLICE = 256;

function splitWorkspace(rt: GpuRuntime): GPUBuffer {
  return deviceBuffer(rt.device, 'matmul.split_workspace', () => createStorageBuffer(rt.device, SPLIT_WORKSPACE_BYTES, 'matmul.split_workspace'));
}

/** K slices for a `wide` matmul of `tiles` output tiles: enough workgroups to fill a GPU, within the workspace. */
export function wideSplit(tiles: number, a: { M: number; N: number; K: number; epilogue?: Epilogue }): number {
  const sliceBytes = a.M * a.N * 4 * (a.epilogue === 'swiglu' ? 2 : 1);
  return Math.max(1, Math.min(Math.ceil(WIDE_TARGET_GROUPS / tiles), Math.floor(a.K / MIN_SLICE), Math.floor(SPLIT_WORKSPACE_BYTES / sliceBytes)));
}

/**
 * Matmul for prefill/scoring (any M). `tiled` / `wide`: 64x64 output tiles staged in workgroup memory,
 * 16-byte loads when K % 4 == 0; `wide` with splitK > 1 sums K slices in a second dispatch. `direct`:
 * 8x8 blocks per thread from registers only, for CPU adapters (needs K % 8 == 0). Default: direct on
 * CPU adapters when K allows, tiled otherwise.
 */
export class Matmul {
  private readonly dispatches: Dispatch[];
  readonly kernel: MatmulKernel;
  /** K slices (`wide` only; 1 = none). */
  readonly splitK: number;

  /** `splitK` (`wide` only): K slices, default wideSplit; 1 when the weight is bound in row windows. */
  constructor(rt: GpuRuntime, a: LinearArgs & { kernel?: MatmulKernel; splitK?: number }) {
    this.kernel = a.kernel ?? (isCpuAdapter(rt.ctx.adapter) && a.K % 8 === 0 ? 'direct' : 'tiled');
    if (this.kernel === 'direct' && a.K % 8 !== 0) throw new Error(`Matmul: the direct kernel needs K % 8 == 0 (K = ${a.K})`);
    const direct = this.kernel === 'direct';
    const wide = this.kernel === 'wide';
    const tiles = Math.ceil(a.M / 64) * Math.ceil(a.N / 64);
    const windows = planWeightSlices(rt, a.N, a.K, a.dtype, a.w, a.maxBindingBytes).length;
    this.splitK = wide && windows === 1 ? (a.splitK ?? wideSplit(tiles, a)) : 1;
    const bytes = this.splitK * a.M * a.N * 4 * (a.epilogue === 'swiglu' ? 2 : 1);
    if (this.splitK > 1 && bytes > SPLIT_WORKSPACE_BYTES) throw new Error(`Matmul: ${this.splitK} K slices need ${bytes} bytes, over the split workspace`);
    const entry = this.splitK > 1 ? 'matmul_wide_split' : { tiled: 'matmul', wide: 'matmul_wide', direct: 'matmul_direct' }[this.kernel];
    const split = this.splitK > 1;
    const constants = { ...weightConstants(a.dtype), VEC: a.K % 4 === 0, EPI: EPI[a.epilogue ?? 'store'], ...(split ? { SPLIT: this.splitK } : {}) };
    const shader = linearShader({ weights: weightsFor(a.epilogue), splitK: split });
    const pipeline = rt.pipelines.get(shader, entry, constants);
    const part = split ? { buffer: splitWorkspace(rt), offset: 0, size: bytes } : undefined;
    // tiled, wide: one workgroup per 64x64 tile (per K slice); direct: one thread per 8x8 block, 64 threads a workgroup.
    const groups = (rows: number) =>
      direct ? Math.ceil((Math.ceil(a.M / 8) * Math.ceil(rows / 8)) / 64) : Math.ceil(a.M / 64) * Math.ceil(rows / 64) * this.splitK;
    this.dispatches = linearBindGroups(rt, pipeline, a, 'matmul', undefined, part).map(({ bindGroup, rows }) => ({
      pipeline,
      bindGroup,
      grid: rt.grid(groups(rows)),
    }));
    if (split) {
      const reduce = rt.pipelines.get(shader, 'matmul_split_reduce', constants);
      const params = rt.uniform(packParams([{ u32: a.M }, { u32: a.N }, { u32: a.K }, { u32: a.ldy ?? a.N }, { u32: a.yColOffset ?? 0 }]), 'matmul.reduce.params');
      this.dispatches.push({ pipeline: reduce, bindGroup: bindAt(rt, reduce, { 0: params, 4: a.y, 9: part! }, 'matmul.reduce'), grid: rt.grid(Math.ceil((a.M * a.N) / 256)) });
    }
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
