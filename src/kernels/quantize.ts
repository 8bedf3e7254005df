import code from '../../shaders/quantize.wgsl?raw';
import { createStorageBuffer } from '../gpu/buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { FloatDType, GpuTensor, QuantDType } from '../gpu/tensor';
import { QUANT_GROUP, weightBytes, weightConstants, weightRowBytes } from '../quant/formats';
import { encodeAll, prepare, type Dispatch } from './common';

const shader = { name: 'quantize', code };

export interface QuantizeArgs {
  rows: number;
  K: number;
  /** The float weight [rows, K] (f32, or f16 packed two per u32). */
  source: GPUBuffer;
  sourceDtype: FloatDType;
  /** The quantized rows (weightBytes(dtype, [rows, K]) bytes, zero-filled as created). */
  target: GPUBuffer;
  dtype: QuantDType;
  /** Test hook: pretend maxStorageBufferBindingSize is this many bytes (forces row windows). */
  maxBindingBytes?: number;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * Row windows that fit both the source and the quantized rows in one binding each, starting at
 * offsets aligned for both (the alignment steps are powers of two, so the larger one serves both).
 */
function pairedSlices(rt: GpuRuntime, a: QuantizeArgs): { row0: number; rows: number; src: GPUBufferBinding; dst: GPUBufferBinding }[] {
  const max = a.maxBindingBytes ?? rt.device.limits.maxStorageBufferBindingSize;
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  const srcRow = weightRowBytes(a.sourceDtype, a.K);
  const dstRow = weightRowBytes(a.dtype, a.K);
  const oddHalves = a.sourceDtype === 'f16' && a.K % 2 === 1;
  const step = Math.max(align / gcd(srcRow, align), align / gcd(dstRow, align));
  const maxRows = oddHalves ? a.rows : Math.floor((max - 16) / Math.max(srcRow, dstRow) / step) * step;
  if (maxRows < 1 || (oddHalves && Math.ceil((a.rows * a.K) / 2) * 4 > max)) {
    throw new Error(`quantize: rows of ${a.K} elements cannot be bound within ${max} bytes`);
  }
  const out = [];
  for (let row0 = 0; row0 < a.rows; row0 += maxRows) {
    const rows = Math.min(maxRows, a.rows - row0);
    const srcOffset = oddHalves ? 0 : row0 * srcRow;
    const dstOffset = row0 * dstRow;
    out.push({
      row0,
      rows,
      src: { buffer: a.source, offset: srcOffset, size: Math.min(Math.ceil((rows * srcRow) / 16) * 16, a.source.size - srcOffset) },
      dst: { buffer: a.target, offset: dstOffset, size: rows * dstRow },
    });
  }
  return out;
}

/** Float weight -> q8 / q4 rows (shaders/quantize.wgsl), one dispatch per row window. */
export class Quantize {
  private readonly dispatches: Dispatch[];
  private readonly params: GPUBuffer[] = [];

  constructor(rt: GpuRuntime, a: QuantizeArgs) {
    const pairs = Math.ceil(Math.ceil(a.K / QUANT_GROUP) / 2);
    const constants = { ...weightConstants(a.sourceDtype), W_Q: weightConstants(a.dtype).W_Q };
    this.dispatches = pairedSlices(rt, a).map((s) => {
      const params = rt.uniform(packParams([{ u32: s.rows }, { u32: a.K }]), 'quantize.params');
      this.params.push(params);
      return prepare(rt, shader, 'quantize', constants, { 0: params, 1: s.src, 2: s.dst }, rt.grid(Math.ceil((s.rows * pairs) / 64)));
    });
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }

  /** Frees the uniforms (once the work is submitted). */
  destroy(): void {
    for (const b of this.params) b.destroy();
  }
}

/**
 * Quantizes a loaded 2-D float tensor into `target` (a buffer of weightBytes(dtype, shape) bytes) and
 * submits the work; the caller frees the source afterwards. Returns the quantized tensor.
 */
export function quantizeTensor(rt: GpuRuntime, t: GpuTensor, dtype: QuantDType, target: GPUBuffer): GpuTensor {
  if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`quantize: ${t.name} is already ${t.dtype}`);
  if (t.shape.length !== 2) throw new Error(`quantize: ${t.name} has shape [${t.shape.join(', ')}], not a matrix`);
  if (target.size < weightBytes(dtype, t.shape)) throw new Error(`quantize: the target for ${t.name} is too small`);
  const [rows, K] = t.shape as [number, number];
  const op = new Quantize(rt, { rows, K, source: t.buffer, sourceDtype: t.dtype, target, dtype });
  const encoder = rt.device.createCommandEncoder({ label: `quantize ${t.name}` });
  const pass = encoder.beginComputePass();
  op.encode(pass);
  pass.end();
  rt.device.queue.submit([encoder.finish()]);
  op.destroy();
  return { name: t.name, buffer: target, dtype, shape: t.shape };
}

/** A new zeroed buffer for the quantized form of a tensor of `shape`. */
export function quantizedBuffer(device: GPUDevice, dtype: QuantDType, shape: readonly number[], label: string): GPUBuffer {
  return createStorageBuffer(device, weightBytes(dtype, shape), label);
}
