/** Gemma's applied norm weight 1 + w as an f32 tensor of its own (shaders/norm_offset.wgsl). */
import code from '../../shaders/norm_offset.wgsl?raw';
import { createStorageBuffer } from '../gpu/buffers';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import type { GpuTensor } from '../gpu/tensor';
import { encodeAll, prepare } from './common';

const shader = { name: 'norm_offset', code };
const WG = 256;

/** A new f32 tensor offset + w, computed on the GPU (submitted at once); the caller destroys its buffer. */
export function offsetNormWeight(rt: GpuRuntime, w: GpuTensor, offset: number): GpuTensor {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const buffer = createStorageBuffer(rt.device, n * 4, `${w.name}+${offset}`);
  const params = rt.uniform(packParams([{ u32: n }]), 'norm_offset.params');
  const dispatch = prepare(rt, shader, 'main', { WG, W_F16: w.dtype === 'f16', OFFSET: offset },
    { 0: params, 2: w.buffer, 3: buffer }, rt.grid(Math.ceil(n / WG)));
  const encoder = rt.device.createCommandEncoder({ label: 'norm_offset' });
  const pass = encoder.beginComputePass();
  encodeAll(pass, [dispatch]);
  pass.end();
  rt.device.queue.submit([encoder.finish()]);
  return { name: w.name, buffer, dtype: 'f32', shape: w.shape };
}
