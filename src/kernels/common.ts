/**
 * The one dialect of the kernel wrappers, forward and backward: a wrapper builds its pipelines,
 * uniforms (packParams), scratch and bind groups once as `Dispatch`es (prepare / bindAt) and
 * records them with encode(pass) (encodeAll). Also the per-step uniform ("step buffer") and the
 * planning of row slices for tensors larger than maxStorageBufferBindingSize.
 * Shapes are named alike everywhere: rows = B*T tokens (batch-major, T per sequence), nHeads /
 * nKvHeads / headDim, M / N / K for linear layers, n for elementwise counts, V for the vocabulary.
 */
import type { StorageDType } from '../gpu/tensor';
import { weightRowBytes } from '../quant/formats';
import { isCpuAdapter } from '../gpu/device';
import type { Constants } from '../gpu/pipelines';
import type { GpuRuntime } from '../gpu/runtime';

/** A prepared op: everything built at construction, recorded into a compute pass any number of times. */
export interface Encodable {
  encode(pass: GPUComputePassEncoder): void;
}

/** A whole buffer, or a window of one ({ buffer, offset, size }), e.g. a row chunk of a large tensor. */
export type Buf = GPUBuffer | GPUBufferBinding;

/**
 * Threads per workgroup for a kernel that reduces across its workgroup (one row, one sequence...):
 * `gpu` on GPUs; 4 on CPU adapters. SwiftShader runs a workgroup as 4-lane SIMD groups on one core
 * and switches through all of them at every barrier, so a tree over 128 threads is 7 rounds of 32
 * switches; 4 threads are one group (RMSNorm 1280x128: 210 -> 8 ms, NLL 1280x4096: 1035 -> 113 ms).
 */
export function reductionWorkgroup(rt: GpuRuntime, gpu: number): number {
  return isCpuAdapter(rt.ctx.adapter) ? 4 : gpu;
}

/**
 * The step buffer: 16 bytes of uniform data the engine rewrites with queue.writeBuffer once per
 * forward call, so bind groups never change between decode steps.
 *   word 0  pos0 : u32  position of the first token of this call in every sequence; the token at
 *                       row r has position pos0 + (r mod T). Prefill from scratch: 0. Decode step
 *                       after n cached tokens: n. Read by RoPE, KV-cache write and cache attention.
 *   words 1..3       reserved (0).
 * Several kernels (and all layers) share one StepBuffer.
 */
export class StepBuffer {
  readonly buffer: GPUBuffer;
  private readonly data = new Uint32Array(4);

  constructor(private readonly rt: GpuRuntime, pos0 = 0) {
    this.buffer = rt.device.createBuffer({
      label: 'step',
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.set(pos0);
  }

  /** Queues the new position; takes effect for command buffers submitted after this call. */
  set(pos0: number): void {
    this.data[0] = pos0 >>> 0;
    this.rt.device.queue.writeBuffer(this.buffer, 0, this.data);
  }
}

/** One binding window over a large row-major tensor: rows [row0, row0 + rows). */
export interface RowSlice {
  row0: number;
  rows: number;
  /** Byte offset and size of the binding (offset aligned to minStorageBufferOffsetAlignment). */
  offset: number;
  size: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Splits `totalRows` rows of `rowBytes` bytes into windows that each fit in `maxBytes` and start
 * at an aligned byte offset. Bindings are rounded up to 4 bytes (u32 words), never past the buffer.
 */
export function planRowSlices(
  rt: GpuRuntime,
  totalRows: number,
  rowBytes: number,
  bufferSize: number,
  maxBytes = rt.device.limits.maxStorageBufferBindingSize,
): RowSlice[] {
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  const rowStep = align / gcd(rowBytes, align);
  const maxRows = Math.floor((maxBytes - 16) / rowBytes / rowStep) * rowStep;
  if (maxRows < 1) throw new Error(`planRowSlices: ${rowStep} rows of ${rowBytes} B (the offset alignment step) exceed the binding limit ${maxBytes}`);
  const slices: RowSlice[] = [];
  for (let row0 = 0; row0 < totalRows; row0 += maxRows) {
    const rows = Math.min(maxRows, totalRows - row0);
    const offset = row0 * rowBytes;
    // Round to 16 bytes so vec4 views stay whole, clipped to the buffer (which is 16-aligned).
    const size = Math.min(Math.ceil((rows * rowBytes) / 16) * 16, bufferSize - offset);
    slices.push({ row0, rows, offset, size });
  }
  return slices;
}

/** Row slices of a [rows, cols] weight of the given storage type. */
export function planWeightSlices(rt: GpuRuntime, rows: number, cols: number, dtype: StorageDType, buffer: GPUBuffer, maxBytes?: number): RowSlice[] {
  const rowBytes = weightRowBytes(dtype, cols);
  if (dtype === 'f16' && cols % 2 !== 0 && rows > 1) {
    // Odd rows of packed f16 start mid-word: only a single window is possible.
    const need = Math.ceil((rows * cols) / 2) * 4;
    if (need > (maxBytes ?? rt.device.limits.maxStorageBufferBindingSize)) {
      throw new Error('f16 weight with an odd row length does not fit one binding');
    }
    return [{ row0: 0, rows, offset: 0, size: buffer.size }];
  }
  return planRowSlices(rt, rows, rowBytes, buffer.size, maxBytes);
}

/**
 * A bind group with explicit binding numbers: entry points of one shader file use different subsets
 * of the module's bindings, and layout 'auto' holds only those an entry point uses.
 */
export function bindAt(rt: GpuRuntime, pipeline: GPUComputePipeline, resources: Record<number, Buf>, label: string): GPUBindGroup {
  return rt.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: Object.entries(resources).map(([binding, r]) => ({
      binding: Number(binding),
      resource: r instanceof GPUBuffer ? { buffer: r } : r,
    })),
  });
}

/** One pipeline + bind group + grid (rt.grid), encoded as a single dispatch. */
export interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: readonly [number, number];
}

/** A Dispatch of `entryPoint` specialised by `constants`, with `bindings` by binding number. */
export function prepare(
  rt: GpuRuntime,
  shader: { name: string; code: string },
  entryPoint: string,
  constants: Constants,
  bindings: Record<number, Buf>,
  grid: readonly [number, number],
): Dispatch {
  const pipeline = rt.pipelines.get(shader, entryPoint, constants);
  return { pipeline, bindGroup: bindAt(rt, pipeline, bindings, `${shader.name}.${entryPoint}`), grid };
}

/**
 * The dispatches `ops` record, in order, flattened once (ops are static: see Encodable), so a hot
 * path such as a decode step encodes one array instead of walking the ops every step.
 */
export function recordDispatches(ops: readonly Encodable[]): Dispatch[] {
  const out: Dispatch[] = [];
  let pipeline: GPUComputePipeline | undefined;
  let bindGroup: GPUBindGroup | undefined;
  const recorder = {
    setPipeline: (p: GPUComputePipeline) => void (pipeline = p),
    setBindGroup: (_: number, g: GPUBindGroup) => void (bindGroup = g),
    dispatchWorkgroups: (x: number, y = 1) => void out.push({ pipeline: pipeline!, bindGroup: bindGroup!, grid: [x, y] }),
  } as unknown as GPUComputePassEncoder;
  for (const op of ops) op.encode(recorder);
  return out;
}

/** Each call into the WebGPU implementation costs host time (~1-2 us in Node): a pipeline set just before is not set again. */
export function encodeAll(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  let current: GPUComputePipeline | undefined;
  for (const d of dispatches) {
    if (d.pipeline !== current) pass.setPipeline((current = d.pipeline));
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.grid[0], d.grid[1]);
  }
}
