/** Non-finite weights are found after the upload, on the GPU, tensor by tensor, in every storage dtype. */
import { describe, expect, it } from 'vitest';
import { NonFiniteWeightError } from '../../src/io/errors';
import { FilesSource } from '../../src/io/file-source';
import { loadCheckpoint } from '../../src/io/load';
import { encodeSafetensors } from '../../src/io/safetensors';
import { nonFiniteTensors } from '../../src/model/finite-weights';
import { testRuntime } from '../helpers/gpu';
import { asFiles, makeSyntheticCheckpoint, trackBuffers, type SyntheticOptions } from '../helpers/synthetic-checkpoint';

/** The synthetic checkpoint with raw element bits `bits` written at element `index` of each named tensor. */
function poisoned(o: SyntheticOptions, poison: Record<string, { index: number; bits: number }>) {
  const ck = makeSyntheticCheckpoint(o);
  const tensors = ck.tensors.map((t) => {
    const p = poison[t.name];
    if (!p) return t;
    const data = t.data.slice();
    const view = new DataView(data.buffer);
    if (t.dtype === 'F32') view.setUint32(p.index * 4, p.bits, true);
    else view.setUint16(p.index * 2, p.bits, true);
    return { ...t, data };
  });
  const files = new Map(ck.files);
  files.set('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
  return files;
}

async function findIn(files: Map<string, Uint8Array>): Promise<string[]> {
  const rt = await testRuntime();
  const loaded = await loadCheckpoint(rt.device, new FilesSource(asFiles(files)));
  try {
    return (await nonFiniteTensors(rt, loaded.tensors)).sort();
  } finally {
    loaded.dispose();
  }
}

describe('non-finite weights', () => {
  it('a clean checkpoint has none', async () => {
    expect(await findIn(makeSyntheticCheckpoint({ dtype: 'F16' }).files)).toEqual([]);
  });

  it('names each tensor holding a NaN or an Inf: F32 (kept f32), F16 and BF16 (stored f16), the last element included', async () => {
    // One NaN in the final norm (f32), +Inf late in a 2-D F32 weight.
    const f32 = poisoned({ dtype: 'F32' }, {
      'model.norm.weight': { index: 3, bits: 0x7fc00000 },
      'model.layers.1.mlp.down_proj.weight': { index: 16 * 40 - 1, bits: 0x7f800000 },
    });
    expect(await findIn(f32)).toEqual(['model.layers.1.mlp.down_proj.weight', 'model.norm.weight']);
    // F16: -Inf in the embedding, NaN in an odd element of q_proj.
    const f16 = poisoned({ dtype: 'F16' }, {
      'model.embed_tokens.weight': { index: 0, bits: 0xfc00 },
      'model.layers.0.self_attn.q_proj.weight': { index: 17, bits: 0x7e00 },
    });
    expect(await findIn(f16)).toEqual(['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight']);
    // BF16 (converted to f16 on upload): Inf and NaN survive the conversion.
    const bf16 = poisoned({ dtype: 'BF16' }, {
      'lm_head.weight': { index: 5, bits: 0x7f80 },
      'model.layers.1.post_attention_layernorm.weight': { index: 0, bits: 0xffc1 },
    });
    expect(await findIn(bf16)).toEqual(['lm_head.weight', 'model.layers.1.post_attention_layernorm.weight']);
  });

  it('the host scan (CPU adapters) refuses the load naming tensor, kind and element, across chunks, leaving no GPU buffer', async () => {
    const rt = await testRuntime();
    const cases: [SyntheticOptions, string, number, number, RegExp][] = [
      [{ dtype: 'F32' }, 'model.norm.weight', 3, 0x7fc00000, /model\.norm\.weight has NaN at element 3$/],
      [{ dtype: 'F32' }, 'model.layers.1.mlp.down_proj.weight', 639, 0xff800000, /down_proj\.weight has -Inf at element 639$/],
      [{ dtype: 'BF16' }, 'model.layers.0.mlp.up_proj.weight', 601, 0x7f80, /up_proj\.weight has \+Inf at element 601$/],
      [{ dtype: 'F16' }, 'lm_head.weight', 100, 0x7e01, /lm_head\.weight has NaN at element 100$/],
    ];
    for (const [o, name, index, bits, message] of cases) {
      const files = poisoned(o, { [name]: { index, bits } });
      const tracker = trackBuffers(rt.device);
      try {
        const error = await loadCheckpoint(rt.device, new FilesSource(asFiles(files)), { scanNonFinite: true, chunkBytes: 64 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NonFiniteWeightError);
        expect((error as Error).message).toMatch(message);
        expect(tracker.alive()).toEqual([]);
      } finally {
        tracker.restore();
      }
      // Without the scan the same bytes load (the GPU check is the other path).
      (await loadCheckpoint(rt.device, new FilesSource(asFiles(files)))).dispose();
    }
  });
});
