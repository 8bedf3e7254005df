import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeviceBuffer } from '../../src/gpu/device-buffers';
import type { LlamaModel } from '../../src/model/model';
import { planWithout } from '../../src/model/plan';
import { recordBuffers } from '../helpers/gpu';
import { loadTestModel } from '../helpers/models';

let model: LlamaModel;
beforeAll(async () => {
  model = await loadTestModel();
});
afterAll(() => model?.dispose());

/** Buffers recorded by recordBuffers that are still alive and not shared per device. */
function leaked(r: ReturnType<typeof recordBuffers>): GPUBuffer[] {
  return r.created.filter((b) => !r.destroyed.has(b) && !isDeviceBuffer(b));
}

describe('GPU memory across plan and shape changes', { timeout: 300_000 }, () => {
  it('a plan change frees every buffer the previous plan\'s decode ops allocated', async () => {
    const dec = model.decoder(16);
    dec.setPlan(model.fullPlan()); // caches for every block, so the next plans allocate none
    const pruned = recordBuffers(model.rt.device, () => {
      dec.setPlan(planWithout(model.numLayers, [2, 9]));
      dec.prefill([1, 400, 77]); // the prompt's ops too
    });
    // activations, per-op uniforms and attention partials of 14 blocks
    expect(pruned.created.length).toBeGreaterThan(2 * 14);
    dec.setPlan(model.fullPlan());
    expect(leaked(pruned).map((b) => b.label)).toEqual([]);
    dec.prefill([1, 400, 77]);
    dec.append(9);
    expect((await dec.readLogits()).every(Number.isFinite)).toBe(true);
  });

  it('evicting a batch shape frees all its buffers, the head\'s and the kernels\' own included', async () => {
    const shape = recordBuffers(model.rt.device, () => {
      const batch = model.batch(2, 9);
      batch.setTokens(new Uint32Array(18).fill(7));
      batch.submit({ plan: model.fullPlan() });
    });
    expect(shape.created.length).toBeGreaterThan(2 * model.numLayers);
    model.batch(1, 5);
    model.batch(1, 6); // a third shape evicts the oldest
    expect(leaked(shape).map((b) => b.label)).toEqual([]);
  });
});
