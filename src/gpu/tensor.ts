/**
 * A tensor resident on the GPU. Weights are stored as f32, or as f16 packed two per u32
 * (element 2i in the low half, i.e. the raw little-endian F16 bytes of a safetensors file).
 * Kernels bind weight buffers as array<u32> (or array<vec4<u32>>) and decode through the
 * `W_F16` override constant, so one shader serves both storages and needs no shader-f16.
 * Linear weights can also be quantized ('q8', 'q4': src/quant/formats.ts, override `W_Q`).
 */
export type FloatDType = 'f32' | 'f16';
export type QuantDType = 'q8' | 'q4';
export type StorageDType = FloatDType | QuantDType;

export interface GpuTensor {
  name: string;
  buffer: GPUBuffer;
  dtype: StorageDType;
  /** Shape as in the checkpoint, e.g. [out_features, in_features] for a linear weight. */
  shape: number[];
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes per element of a float storage (quantized rows: quantRowBytes in src/quant/formats.ts). */
export function bytesPerElement(dtype: FloatDType): number {
  return dtype === 'f16' ? 2 : 4;
}

export function isQuantized(dtype: StorageDType): dtype is QuantDType {
  return dtype === 'q8' || dtype === 'q4';
}
