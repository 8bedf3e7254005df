/**
 * Every kind of bad checkpoint, pushed through the whole loader on the GPU: each gives its own
 * error class, nothing hangs, and no GPU buffer stays alive.
 */
import { describe, expect, it } from 'vitest';
import {
  ByteSpanError,
  CheckpointError,
  DataLayoutError,
  HeaderJsonError,
  HeaderLengthError,
  MissingTensorError,
  OverlappingSpansError,
  PickleCheckpointError,
  TensorShapeError,
  TruncatedFileError,
  UnsupportedConfigError,
  UnsupportedDTypeError,
} from '../../src/io/errors';
import { FilesSource } from '../../src/io/file-source';
import { loadCheckpoint } from '../../src/io/load';
import { testRuntime } from '../helpers/gpu';
import { asFiles, makeSyntheticCheckpoint, trackBuffers } from '../helpers/synthetic-checkpoint';

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

const base = makeSyntheticCheckpoint({ dtype: 'F32' });
const good = base.files.get('model.safetensors')!;
const headerLength = new DataView(good.buffer, good.byteOffset).getUint32(0, true);
const dataArea = good.subarray(8 + headerLength);

/** The file with its JSON header rewritten by `mutate` (same data area). */
function rewriteHeader(mutate: (h: Header) => void): Uint8Array {
  const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + headerLength))) as Header;
  mutate(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataArea.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  out.set(dataArea, 8 + json.byteLength);
  return out;
}

function withWeights(bytes: Uint8Array | undefined, extra: Record<string, Uint8Array> = {}): Map<string, Uint8Array> {
  const files = new Map(base.files);
  if (bytes) files.set('model.safetensors', bytes);
  else files.delete('model.safetensors');
  for (const [k, v] of Object.entries(extra)) files.set(k, v);
  return files;
}

const cases: [string, () => Map<string, Uint8Array>, new (...args: never[]) => CheckpointError][] = [
  ['truncated file', () => withWeights(good.subarray(0, good.byteLength - 37)), TruncatedFileError],
  ['file shorter than 8 bytes', () => withWeights(good.subarray(0, 5)), TruncatedFileError],
  [
    'header length past the end',
    () => {
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(0, bad.byteLength, true);
      return withWeights(bad);
    },
    HeaderLengthError,
  ],
  [
    'invalid JSON',
    () => {
      const bad = good.slice();
      bad[8] = 0x78; // "x" instead of "{"
      return withWeights(bad);
    },
    HeaderJsonError,
  ],
  ['unknown dtype', () => withWeights(rewriteHeader((h) => (h['model.norm.weight']!.dtype = 'F64'))), UnsupportedDTypeError],
  ['mismatched byte span', () => withWeights(rewriteHeader((h) => (h['model.norm.weight']!.shape = [15]))), ByteSpanError],
  [
    'overlapping spans',
    () =>
      withWeights(
        rewriteHeader((h) => {
          const [a] = h['model.layers.0.input_layernorm.weight']!.data_offsets;
          h['model.norm.weight']!.data_offsets = [a + 4, a + 4 + 64];
        }),
      ),
    OverlappingSpansError,
  ],
  [
    'missing tensor',
    () =>
      withWeights(
        rewriteHeader((h) => {
          // Renamed, so its bytes still belong to a tensor and only the name the config needs is absent.
          h['model.layers.1.self_attn.k_proj.unused'] = h['model.layers.1.self_attn.k_proj.weight']!;
          delete h['model.layers.1.self_attn.k_proj.weight'];
        }),
      ),
    MissingTensorError,
  ],
  ['gap between tensors', () => withWeights(rewriteHeader((h) => delete h['model.layers.1.self_attn.k_proj.weight'])), DataLayoutError],
  ['bytes after the last tensor', () => withWeights(new Uint8Array([...good, 0, 0, 0, 0])), DataLayoutError],
  ['wrong shape', () => withWeights(rewriteHeader((h) => (h['model.norm.weight']!.shape = [2, 8]))), TensorShapeError],
  [
    'unsupported architecture',
    () => withWeights(good, { 'config.json': new TextEncoder().encode(JSON.stringify({ ...base.config, architectures: ['GPT2LMHeadModel'] })) }),
    UnsupportedConfigError,
  ],
  ['.bin only', () => withWeights(undefined, { 'pytorch_model.bin': new Uint8Array(1024) }), PickleCheckpointError],
];

describe('bad checkpoints through the whole loader', () => {
  for (const [name, files, errorClass] of cases) {
    it(`${name}: ${errorClass.name}, no GPU buffer left`, async () => {
      const rt = await testRuntime();
      const tracker = trackBuffers(rt.device);
      try {
        const error = await loadCheckpoint(rt.device, new FilesSource(asFiles(files()))).then(
          (ok) => {
            ok.dispose();
            return null;
          },
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(errorClass);
        expect((error as Error).message.length).toBeGreaterThan(20);
        expect(tracker.alive()).toEqual([]);
      } finally {
        tracker.restore();
      }
    }, 20_000);
  }

  it('the unmodified checkpoint loads (the cases above differ from it only by their defect)', async () => {
    const rt = await testRuntime();
    const loaded = await loadCheckpoint(rt.device, new FilesSource(asFiles(withWeights(rewriteHeader(() => undefined)))));
    expect(loaded.tensors.size).toBeGreaterThan(0);
    loaded.dispose();
  });
});
