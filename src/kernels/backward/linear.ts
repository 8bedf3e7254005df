import code from '../../../shaders/backward_linear.wgsl?raw';
import { isCpuAdapter } from '../../gpu/device';
import { packParams, type GpuRuntime } from '../../gpu/runtime';
import { isQuantized, type StorageDType } from '../../gpu/tensor';
import { weightConstants } from '../../quant/formats';
import { encodeAll, planWeightSlices, prepare, type Buf, type Dispatch } from '../common';
import { ScoreReduce, type ScoreTarget } from './score-reduce';

const shader = { name: 'backward_linear', code };
const TILE = 64;

/**
 * tiled: 64x64 tiles in workgroup memory (GPUs); direct: one thread per 8x8 register block, no
 * workgroup memory (CPU adapters). Default by adapter.
 */
export type LinearBackwardKernel = 'tiled' | 'direct';

/** The layer y[M, N] = x[M, K] W[N, K]^T whose backward is taken: rows (B*T), output and input features. */
export interface LinearBackwardShape {
  M: number;
  N: number;
  K: number;
  /** How W is stored (f32, f16 packed two per u32, or q8 / q4 rows: dequantized as read). */
  dtype: StorageDType;
  kernel?: LinearBackwardKernel;
  /** Test hook: pretend maxStorageBufferBindingSize is this many bytes (forces row windows of W). */
  maxBindingBytes?: number;
}

function setup(rt: GpuRuntime, a: LinearBackwardShape) {
  const kernel = a.kernel ?? (isCpuAdapter(rt.ctx.adapter) ? 'direct' : 'tiled');
  const direct = kernel === 'direct';
  const blocks = (rows: number, cols: number) => Math.ceil(rows / 8) * Math.ceil(cols / 8);
  // tiled: workgroups (cols, rows) of 64x64 tiles; direct: 64 threads of 8x8 blocks a workgroup.
  const grid = (rows: number, cols: number): readonly [number, number] =>
    direct ? rt.grid(Math.ceil(blocks(rows, cols) / 64)) : [Math.ceil(cols / TILE), Math.ceil(rows / TILE)];
  // W in row windows when it exceeds the binding limit; each window reads its own columns of dy.
  const windows = (w: Buf) => {
    const buffer = w instanceof GPUBuffer ? w : w.buffer;
    const base = w instanceof GPUBuffer ? 0 : (w.offset ?? 0);
    return planWeightSlices(rt, a.N, a.K, a.dtype, buffer, a.maxBindingBytes).map((s) => ({
      ...s,
      w: { buffer, offset: base + s.offset, size: s.size },
      params: rt.uniform(packParams([{ u32: a.M }, { u32: s.rows }, { u32: a.K }, { u32: a.N }, { u32: s.row0 }]), 'backward_linear.params'),
    }));
  };
  return { kernel, direct, blocks, grid, windows };
}

export interface LinearBackwardArgs extends LinearBackwardShape {
  /** Gradient of the layer output, f32 [M, N]. */
  dy: Buf;
  /** The weight W[N, K]. */
  w: Buf;
  /** Gradient of the layer input, f32 [M, K]. */
  dx: Buf;
  /** dx += dy W instead of dx = dy W (several layers reading the same input, or a residual). */
  accumulate?: boolean;
}

/** Linear backward through a frozen weight: dx = dy W. One dispatch per row window of W (one unless W exceeds a binding). */
export class LinearBackward {
  readonly kernel: LinearBackwardKernel;
  private readonly dispatches: Dispatch[];

  constructor(rt: GpuRuntime, a: LinearBackwardArgs) {
    const s = setup(rt, a);
    this.kernel = s.kernel;
    // dx = sum over the windows of dy[:, window] W[window]: the first stores (or accumulates), the rest add.
    const windows = s.windows(a.w);
    // 16-byte loads where every window's rows and first row keep dy's columns in whole vec4s
    const wide = !isQuantized(a.dtype) && a.K % 8 === 0 && a.N % 4 === 0 && windows.every((w) => w.rows % 4 === 0 && w.row0 % 4 === 0);
    const entry = !s.direct ? 'dx' : wide ? 'dx_direct4' : 'dx_direct';
    this.dispatches = windows.map((win, i) =>
      prepare(rt, shader, entry, { ...weightConstants(a.dtype), ACCUMULATE: i > 0 || (a.accumulate ?? false) },
        { 0: win.params, 1: a.dy, 2: win.w, 3: a.dx }, s.grid(a.M, a.K)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }
}

export interface LinearScoreArgs extends LinearBackwardShape {
  /** Gradient of the layer output, f32 [M, N]. */
  dy: Buf;
  /** The weight W[N, K]. */
  w: Buf;
  /** The layer's forward input, f32 [M, K]. */
  x: Buf;
  score: ScoreTarget;
}

/**
 * The fused Taylor score sum |W * dy^T x| into score.scores[slot]: dW is formed tile by tile and never
 * stored. Two dispatches (score, reduce); all M rows must be in one call (|.| is applied to the
 * gradient summed over the whole batch).
 */
export class LinearScore {
  readonly kernel: LinearBackwardKernel;
  private readonly dispatches: Dispatch[];
  private readonly reduce: ScoreReduce;

  constructor(rt: GpuRuntime, a: LinearScoreArgs) {
    const s = setup(rt, a);
    this.kernel = s.kernel;
    const windows = s.windows(a.w);
    const partialsOf = (rows: number) => (s.direct ? s.blocks(rows, a.K) : Math.ceil(a.K / TILE) * Math.ceil(rows / TILE));
    // Each window's partials start at an aligned offset; the gaps stay zero (buffers are created zeroed).
    const align = rt.device.limits.minStorageBufferOffsetAlignment / 4;
    const starts = windows.map((_, i) => windows.slice(0, i).reduce((sum, w) => sum + Math.ceil(partialsOf(w.rows) / align) * align, 0));
    const last = windows.length - 1;
    this.reduce = new ScoreReduce(rt, starts[last]! + partialsOf(windows[last]!.rows), a.score, 'backward_linear');
    this.dispatches = windows.map((win, i) => prepare(rt, shader, s.direct ? 'score_direct' : 'score', weightConstants(a.dtype),
      { 0: win.params, 1: a.dy, 2: win.w, 4: a.x, 5: { buffer: this.reduce.partials, offset: starts[i]! * 4, size: partialsOf(win.rows) * 4 } },
      s.grid(win.rows, a.K)));
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
    this.reduce.encode(pass);
  }
}
