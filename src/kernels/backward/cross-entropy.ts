import code from '../../../shaders/backward_cross_entropy.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { encodeAll, prepare, reductionWorkgroup, type Buf, type Dispatch } from '../common';

const shader = { name: 'backward_cross_entropy', code };

export interface CrossEntropyBackwardArgs {
  /** Rows of logits in this call and vocabulary size (as the forward's NllRows). */
  rows: number;
  V: number;
  /** f32 [rows, V]: logits in, dL/dlogits = (softmax - onehot) / C out (in place). */
  logits: Buf;
  /** u32 [totalRows]: next-token id, or IGNORE_LABEL (kernels/loss.ts), for the whole batch (bound whole). */
  labels: Buf;
  /** Row chunks: `logits` holds rows [rowOffset, rowOffset + rows) of a batch of totalRows rows. */
  rowOffset?: number;
  totalRows?: number;
  /** Add this chunk's NLL sum to loss[0] (every chunk after the first). */
  accumulateLoss?: boolean;
  /** f32 [2]: { NLL sum over labelled rows, C = number of labelled rows }; mean loss = [0] / [1]. */
  loss: Buf;
}

/** Fused mean cross-entropy loss and its gradient w.r.t. the logits (two dispatches). */
export class CrossEntropyBackward {
  /** f32 [rows] per-row NLL (0 for ignored rows), allocated here. */
  readonly rowLoss: GPUBuffer;
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: CrossEntropyBackwardArgs) {
    const params = rt.uniform(packParams([{ u32: a.rows }, { u32: a.V }, { u32: a.rowOffset ?? 0 }, { u32: a.totalRows ?? a.rows }]), 'backward_cross_entropy.params');
    this.rowLoss = createStorageBuffer(rt.device, a.rows * 4, 'backward_cross_entropy.row_loss');
    const WG = reductionWorkgroup(rt, 256);
    this.dispatches = [
      prepare(rt, shader, 'main', { WG }, { 0: params, 1: a.logits, 2: a.labels, 3: this.rowLoss }, rt.grid(a.rows)),
      prepare(rt, shader, 'reduce_loss', { WG, ACCUMULATE: a.accumulateLoss ?? false }, { 0: params, 2: a.labels, 3: this.rowLoss, 4: a.loss }, rt.grid(1)),
    ];
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}
