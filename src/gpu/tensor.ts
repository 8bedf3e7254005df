/**
 * A tensor resident on the GPU. Weights are stored as f32, or as f16 packed two per u32
 * (element 2i in the low half, i.e. the raw little-endian F16 bytes of a safetensors file).
 * Kernels bind weight buffers as array<u32> (or array<vec4<u32>>) and decode through the
 * `W_F16` override constant, so one shader serves both storages and needs no shader-f16.
 */
export type StorageDType = 'f32' | 'f16';

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

export function bytesPerElement(dtype: StorageDType): number {
  return dtype === 'f16' ? 2 : 4;
}
