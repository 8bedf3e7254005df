import type { GpuRuntime } from '../gpu/runtime';
import { weightConstants } from '../quant/formats';
import { encodeAll, reductionWorkgroup, type Dispatch, type Encodable } from './common';
import { linearBindGroups, linearShader, Matmul, weightsFor, type FusedNorm, type LinearArgs, type Projection } from './matmul';

const DEFAULT_WG = 64;
const MAX_M = 8;

export interface MatvecArgs extends LinearArgs {
  /** Use the subgroup reduction (default: when the device has the `subgroups` feature). */
  subgroups?: boolean;
  /** Tuning: threads per workgroup (power of two; default 64 on GPUs, 4 on CPU adapters: see reductionWorkgroup). */
  workgroupSize?: number;
  /** x is the raw residual stream: apply this RMSNorm to it first, inside the matvec (no norm dispatch). */
  norm?: FusedNorm;
  /** Two more projections of the same x in the same dispatch (k and v beside q): epilogue 'store' only,
   * N and the first one's N multiples of 4, every weight within one binding. */
  more?: readonly [Projection, Projection];
}

/**
 * Decode matvec y = x W^T for M = 1..8 rows (same arguments and epilogues as Matmul), split over K
 * inside a workgroup with 16-byte weight loads; reduction by subgroups or workgroup memory.
 */
export class Matvec {
  private readonly dispatches: Dispatch[];
  readonly usesSubgroups: boolean;

  constructor(rt: GpuRuntime, a: MatvecArgs) {
    if (a.M < 1 || a.M > MAX_M) throw new Error(`Matvec: M = ${a.M} outside 1..${MAX_M}; use Matmul`);
    const epilogue = a.epilogue ?? 'store';
    if (a.more && (epilogue !== 'store' || a.N % 4 !== 0 || a.more[0].N % 4 !== 0)) {
      throw new Error('Matvec: further projections need epilogue store and N, N1 multiples of 4');
    }
    this.usesSubgroups = a.subgroups ?? rt.ctx.adapter.hasSubgroups;
    const WG = a.workgroupSize ?? reductionWorkgroup(rt, DEFAULT_WG);
    const shader = linearShader({ weights: a.more ? 'qkv' : weightsFor(epilogue), norm: a.norm !== undefined, subgroups: this.usesSubgroups });
    const pipeline = rt.pipelines.get(shader, this.usesSubgroups ? 'matvec_sg' : 'matvec', {
      ...weightConstants(a.dtype),
      VEC: a.K % 8 === 0,
      EPI: { store: 0, residual: 1, swiglu: 2 }[epilogue],
      MB: a.M,
      WG,
      ...(a.norm ? { NW_F16: a.norm.dtype === 'f16' } : {}),
    });
    this.dispatches = linearBindGroups(rt, pipeline, a, 'matvec', { norm: a.norm, more: a.more }).map(({ bindGroup, rows }) => ({
      pipeline,
      bindGroup,
      grid: rt.grid(Math.ceil(rows / 4)),
    }));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}

/** Whether M rows take the decode matvec (which can fuse the input RMSNorm) rather than the matmul. */
export function usesMatvec(M: number): boolean {
  return M <= MAX_M;
}

/** The linear kernel suited to M: Matvec for decode-sized M (<= 8), Matmul otherwise. */
export function createLinear(rt: GpuRuntime, a: MatvecArgs): Encodable {
  if (a.norm && !usesMatvec(a.M)) throw new Error('createLinear: a fused RMSNorm needs the matvec (M <= 8)');
  return usesMatvec(a.M) ? new Matvec(rt, a) : new Matmul(rt, a);
}
