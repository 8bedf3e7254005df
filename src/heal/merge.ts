/**
 * The healed checkpoint with the adapters merged: W' = W + (alpha / r) B A for every adapted linear,
 * computed in float64 on the host and rounded once to the tensor's stored dtype (F32, F16, BF16).
 * An ExportSource wrapper: the pruned checkpoint export (src/export/checkpoint.ts) reads merged
 * bytes for adapted tensors and the source's bytes for every other, so the merged folder has the
 * layout, names and dtypes of the plain pruned export.
 */
import { ExportError, type ExportSource, type ExportTensor } from '../export/checkpoint';
import { DTYPE_BYTES, type SafetensorsDType } from '../io/safetensors';
import { bf16BitsToF32, f16BitsToF32, f64ToBf16Bits, f64ToF16Bits } from '../util/f16';
import { PEFT_MODULES, type AdapterValues } from './peft';

/** W [N, K] += scale * B [N, r] A [r, K], in float64, in place. */
export function mergeLinear(w: Float64Array, N: number, K: number, A: ArrayLike<number>, B: ArrayLike<number>, r: number, scale: number): void {
  if (w.length !== N * K || A.length !== r * K || B.length !== N * r) {
    throw new RangeError(`merge: W [${N}, ${K}] (${w.length} values), A ${A.length} values, B ${B.length} values do not fit r ${r}`);
  }
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let j = 0; j < r; j++) {
      const b = scale * B[n * r + j]!;
      if (b === 0) continue;
      const a = j * K;
      for (let k = 0; k < K; k++) w[row + k]! += b * A[a + k]!;
    }
  }
}

/** Little-endian tensor bytes -> float64 values. */
export function decodeTensor(dtype: SafetensorsDType, bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = DTYPE_BYTES[dtype];
  const out = new Float64Array(bytes.byteLength / size);
  for (let i = 0; i < out.length; i++) {
    out[i] = dtype === 'F32' ? view.getFloat32(i * 4, true) : dtype === 'F16' ? f16BitsToF32(view.getUint16(i * 2, true)) : bf16BitsToF32(view.getUint16(i * 2, true));
  }
  return out;
}

/** float64 values -> little-endian bytes of `dtype`, each rounded once to nearest even. */
export function encodeTensor(dtype: SafetensorsDType, values: Float64Array): Uint8Array {
  const out = new Uint8Array(values.length * DTYPE_BYTES[dtype]);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (dtype === 'F32') view.setFloat32(i * 4, v, true);
    else view.setUint16(i * 2, dtype === 'F16' ? f64ToF16Bits(v) : f64ToBf16Bits(v), true);
  }
  return out;
}

/** The source tensor (original block numbering) an adapter belongs to. */
export const adaptedTensorName = (a: Pick<AdapterValues, 'block' | 'name'>) => `model.layers.${a.block}.${PEFT_MODULES[a.name]}.weight`;

/**
 * `source` with the adapters merged into their linears (blocks numbered as in `source`).
 * Refuses adapters whose tensor is missing or whose A / B do not fit its shape, before any byte is read.
 */
export function mergedExportSource(source: ExportSource, adapters: readonly AdapterValues[], o: { r: number; alpha: number }): ExportSource {
  const scale = o.alpha / o.r;
  const byName = new Map<string, { adapter: AdapterValues; tensor: ExportTensor }>();
  const tensors = new Map(source.tensors.map((t) => [t.name, t]));
  for (const adapter of adapters) {
    const name = adaptedTensorName(adapter);
    const tensor = tensors.get(name);
    if (!tensor) throw new ExportError(`merge: the checkpoint has no tensor ${name} for the adapter on block ${adapter.block} ${adapter.name}`);
    const [N, K] = tensor.shape as [number, number];
    if (tensor.shape.length !== 2 || adapter.A.length !== o.r * K || adapter.B.length !== N * o.r) {
      throw new ExportError(`merge: ${name} is [${tensor.shape.join(', ')}], the adapter has A of ${adapter.A.length} and B of ${adapter.B.length} values at r ${o.r}`);
    }
    if (byName.has(name)) throw new ExportError(`merge: two adapters for ${name}`);
    byName.set(name, { adapter, tensor });
  }
  return {
    tensors: source.tensors,
    files: source.files,
    readConfig: (signal) => source.readConfig(signal),
    readFile: (name, signal) => source.readFile(name, signal),
    chunks(name, signal) {
      const hit = byName.get(name);
      if (!hit) return source.chunks(name, signal);
      return (async function* () {
        const bytes = new Uint8Array(hit.tensor.byteLength);
        let at = 0;
        for await (const piece of source.chunks(name, signal)) {
          if (at + piece.byteLength > bytes.byteLength) throw new ExportError(`merge: ${name} gave more than its ${bytes.byteLength} bytes`);
          bytes.set(piece, at);
          at += piece.byteLength;
        }
        if (at !== bytes.byteLength) throw new ExportError(`merge: ${name} gave ${at} of ${bytes.byteLength} bytes`);
        const w = decodeTensor(hit.tensor.dtype, bytes);
        const [N, K] = hit.tensor.shape as [number, number];
        mergeLinear(w, N, K, hit.adapter.A, hit.adapter.B, o.r, scale);
        yield encodeTensor(hit.tensor.dtype, w);
      })();
    },
  };
}
