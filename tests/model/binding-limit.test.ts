import { describe, expect, it } from 'vitest';
import { acquireDevice } from '../../src/gpu/device';
import { GpuRuntime } from '../../src/gpu/runtime';
import { FilesSource } from '../../src/io/file-source';
import { loadCheckpoint } from '../../src/io/load';
import { LlamaModel } from '../../src/model/model';
import { nonFiniteTensors } from '../../src/model/finite-weights';
import { nodeGpu } from '../../src/node/dawn';
import { asFiles, makeSyntheticCheckpoint } from '../helpers/synthetic-checkpoint';

/** WebGPU's default maxStorageBufferBindingSize, what a device gets when it asks for no more. */
const DEFAULT_BINDING = 128 << 20;

/** A device acquired the lab's way from an adapter that offers only the default binding size. */
async function smallBindingRuntime(): Promise<GpuRuntime> {
  const gpu = nodeGpu();
  const narrow = {
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = (await gpu.requestAdapter(options))!;
      return new Proxy(adapter, {
        get(target, key) {
          if (key === 'limits') {
            return new Proxy(target.limits, { get: (l, n) => (n === 'maxStorageBufferBindingSize' ? DEFAULT_BINDING : Reflect.get(l, n)) });
          }
          const v = Reflect.get(target, key);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
  } as unknown as GPU;
  return new GpuRuntime(await acquireDevice(narrow, 'small-binding'));
}

describe('tensors larger than maxStorageBufferBindingSize', () => {
  // A tied 200000 x 352 F16 embedding (and LM head): 140.8 MB, over the 128 MiB binding.
  const ck = makeSyntheticCheckpoint({ hidden: 352, intermediate: 64, layers: 1, heads: 11, vocab: 200_000, dtype: 'F16', tied: true });
  const ids = Uint32Array.from([1, 199_999, 5, 123_456, 77, 100_001]);

  it('a device limited to 128 MiB bindings loads the model and computes the same logits, bit for bit', async () => {
    const embedBytes = 200_000 * 352 * 2;
    const small = await smallBindingRuntime();
    expect(small.device.limits.maxStorageBufferBindingSize).toBe(DEFAULT_BINDING);
    expect(embedBytes).toBeGreaterThan(small.device.limits.maxStorageBufferBindingSize);
    const wide = new GpuRuntime(await acquireDevice(nodeGpu(), 'wide-binding'));
    expect(wide.device.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(embedBytes);

    const logitsOn = async (rt: GpuRuntime, finiteCheck: boolean) => {
      rt.device.pushErrorScope('validation');
      const model = new LlamaModel(rt, await loadCheckpoint(rt.device, new FilesSource(asFiles(ck.files, 'big_vocab'))));
      // The load's finite check reads every tensor (sum |W|), the embedding in row windows.
      if (finiteCheck) expect(await nonFiniteTensors(rt, model.checkpoint.tensors)).toEqual([]);
      const batch = model.batch(1, ids.length);
      batch.setTokens(ids);
      const nll = await batch.run({ plan: model.fullPlan() });
      const rows = await batch.logitsRows([0, 3, 5]);
      expect(await rt.device.popErrorScope()).toBeNull();
      model.dispose();
      model.checkpoint.dispose();
      return { rows, nll };
    };
    const a = await logitsOn(wide, false);
    const b = await logitsOn(small, true);
    for (const [i, row] of b.rows.entries()) {
      expect(row.every(Number.isFinite)).toBe(true);
      expect(row.every((v, j) => v === a.rows[i]![j])).toBe(true);
    }
    expect(b.nll).toEqual(a.nll);
  });
});
