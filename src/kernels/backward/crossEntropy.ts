import code from '../../../shaders/backward_cross_entropy.wgsl?raw';
import { createStorageBuffer } from '../../gpu/buffers';
import type { GpuRuntime } from '../../gpu/runtime';
import { reductionWorkgroup } from '../common';
import { prepare, type Buf, u32Params, type Dispatch } from './common';

const shader = { name: 'backward_cross_entropy', code };

export interface CrossEntropyBackwardArgs {
  rows: number;
  vocab: number;
  /** f32 [rows, vocab]: logits in, dL/dlogits = (softmax - onehot) / C out (in place). */
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
  private readonly main: Dispatch;
  private readonly reduce: Dispatch;

  constructor(rt: GpuRuntime, a: CrossEntropyBackwardArgs) {
    const params = u32Params(rt, 'backward_cross_entropy.params', a.rows, a.vocab, a.rowOffset ?? 0, a.totalRows ?? a.rows);
    this.rowLoss = createStorageBuffer(rt.device, a.rows * 4, 'backward_cross_entropy.row_loss');
    this.main = prepare(rt, shader, 'main', { WG: reductionWorkgroup(rt, 256) }, { 0: params, 1: a.logits, 2: a.labels, 3: this.rowLoss }, rt.grid(a.rows));
    this.reduce = prepare(rt, shader, 'reduce_loss', { WG: reductionWorkgroup(rt, 256), ACCUMULATE: a.accumulateLoss ?? false }, { 0: params, 2: a.labels, 3: this.rowLoss, 4: a.loss }, [1]);
  }

  encode(pass: GPUComputePassEncoder): void {
    this.main.encode(pass);
    this.reduce.encode(pass);
  }
}
