import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  convertToF16,
  exportPrunedCheckpoint,
  ExportError,
  INDEX_FILE,
  isCopiedFile,
  naturalCompare,
  planPrunedCheckpoint,
  prunedConfigText,
  type ExportSource,
} from '../../src/export/checkpoint';
import { BlobSink } from '../../src/export/blob-sink';
import { MemorySink, memorySource } from '../helpers/memory-export';
import { DirectorySink, type DirectoryHandleLike } from '../../src/browser/directory-sink';
import { folderListing, nodeFolderExportSource, nodeFolderSink } from '../../src/node/folder-export';
import { exportSourceFromIndex } from '../../src/export/source';
import { inspectCheckpoint } from '../../src/io/checkpoint';
import { NodeFolderSource } from '../../src/node/folder-source';
import { parseHeaderLength, parseSafetensorsHeader } from '../../src/io/safetensors';
import type { CheckpointSource } from '../../src/io/source';
import { buildMask, serializeMask } from '../../src/prune/mask';
import { bf16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { makeSyntheticCheckpoint, writeCheckpointFiles, type SyntheticOptions } from '../helpers/synthetic-checkpoint';

const dec = new TextDecoder();
const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

/** Non-weight files a real checkpoint folder has: copied unchanged. */
const EXTRA_FILES: Record<string, string> = {
  'generation_config.json': '{\n  "bos_token_id": 1,\n  "eos_token_id": 2\n}\n',
  'tokenizer.json': '{"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}\n',
  'tokenizer_config.json': '{"bos_token": "<s>"}\n',
  'README.md': '# synthetic\n',
};

/** A small synthetic checkpoint (src/io's test helper) whose config.json is written like transformers writes it (1e-05). */
function syntheticCheckpoint(o: SyntheticOptions = {}) {
  const ck = makeSyntheticCheckpoint({ layers: 5, hidden: 8, heads: 2, kvHeads: 1, intermediate: 12, vocab: 16, dtype: 'F16', ...o });
  const configText = `${JSON.stringify(ck.config, null, 2).replace('"rms_norm_eps": 0.00001', '"rms_norm_eps": 1e-05')}\n`;
  const folder = new Map(ck.files).set('config.json', new TextEncoder().encode(configText));
  for (const [name, text] of Object.entries(EXTRA_FILES)) folder.set(name, new TextEncoder().encode(text));
  return { configText, tensors: ck.tensors, files: EXTRA_FILES, folder };
}

function source(o: SyntheticOptions = {}, pieceBytes?: number) {
  const c = syntheticCheckpoint(o);
  return { c, src: memorySource(c.configText, c.tensors, c.files, pieceBytes) };
}

/** A whole safetensors file parsed with src/io's reader, each tensor with its bytes. */
function parseSafetensors(bytes: Uint8Array) {
  const n = parseHeaderLength('out', bytes.byteLength, bytes.subarray(0, 8));
  const h = parseSafetensorsHeader('out', bytes.byteLength, n, bytes.subarray(8, 8 + n));
  return { ...h, headerBytes: h.dataOffset, tensors: h.tensors.map((t) => ({ ...t, data: bytes.subarray(t.begin, t.end) })) };
}

/** Every tensor of the written checkpoint (all shards), by name. */
function readOutput(files: Map<string, Uint8Array>): Map<string, { dtype: string; shape: number[]; data: Uint8Array; file: string }> {
  const out = new Map<string, { dtype: string; shape: number[]; data: Uint8Array; file: string }>();
  for (const [file, bytes] of files) {
    if (!file.endsWith('.safetensors')) continue;
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect(parsed.headerBytes % 8).toBe(0);
    for (const t of parsed.tensors) {
      expect(out.has(t.name)).toBe(false);
      out.set(t.name, { dtype: t.dtype, shape: t.shape, data: t.data, file });
    }
  }
  return out;
}

/** The expected output name of each source tensor (undefined = dropped). */
function renamed(name: string, kept: number[]): string | undefined {
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) return name;
  const j = kept.indexOf(Number(m[1]));
  return j < 0 ? undefined : `model.layers.${j}.${m[2]}`;
}

function expectPrunedCopy(c: ReturnType<typeof syntheticCheckpoint>, files: Map<string, Uint8Array>, kept: number[]) {
  const out = readOutput(files);
  const expected = c.tensors.filter((t) => renamed(t.name, kept) !== undefined);
  expect([...out.keys()].sort()).toEqual(expected.map((t) => renamed(t.name, kept)!).sort());
  for (const t of expected) {
    const o = out.get(renamed(t.name, kept)!)!;
    expect(o.dtype).toBe(t.dtype);
    expect(o.shape).toEqual(t.shape);
    expect(Buffer.from(o.data).equals(Buffer.from(t.data)), t.name).toBe(true);
  }
  const config = JSON.parse(dec.decode(files.get('config.json')!));
  expect(config).toEqual({ ...JSON.parse(c.configText), num_hidden_layers: kept.length });
  for (const [name, text] of Object.entries(c.files)) expect(dec.decode(files.get(name)!)).toBe(text);
  return out;
}

describe('export: pruned checkpoint', () => {
  it('keeps the chosen blocks renumbered, with embeddings, norm and head, config updated, files copied', async () => {
    const { c, src } = source({ layers: 6 });
    const sink = new MemorySink();
    const kept = [0, 2, 3, 5];
    const result = await exportPrunedCheckpoint({ source: src, sink, kept });
    expect([...sink.files.keys()].sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(result.files.at(-1)!.name).toBe('config.json');
    expect(result.plan.numHiddenLayers).toBe(4);
    expect(result.plan.shards).toHaveLength(1);
    const out = expectPrunedCopy(c, sink.files, kept);
    expect(out.has('lm_head.weight')).toBe(true);
    expect(out.has('model.layers.4.mlp.up_proj.weight')).toBe(false);
    // Output order: natural order of names; data offsets increase in that order.
    const names = parseSafetensors(sink.files.get('model.safetensors')!).tensors.map((t) => t.name);
    expect(names).toEqual([...names].sort(naturalCompare));
    expect(names.indexOf('model.layers.2.input_layernorm.weight')).toBeLessThan(names.indexOf('model.layers.3.input_layernorm.weight'));
    expect(result.plan.droppedBytes).toBe(c.tensors.filter((t) => /layers\.(1|4)\./.test(t.name)).reduce((a, t) => a + t.data.byteLength, 0));
  });

  it('keeps tied embeddings tied (no lm_head written)', async () => {
    const { c, src } = source({ tied: true });
    const sink = new MemorySink();
    await exportPrunedCheckpoint({ source: src, sink, kept: [1, 2] });
    const out = expectPrunedCopy(c, sink.files, [1, 2]);
    expect(out.has('lm_head.weight')).toBe(false);
    expect(JSON.parse(dec.decode(sink.files.get('config.json')!)).tie_word_embeddings).toBe(true);
  });

  it('shards past the size limit with a correct index', async () => {
    const { c, src } = source({ layers: 5 });
    const sink = new MemorySink();
    const kept = [0, 1, 3, 4];
    const result = await exportPrunedCheckpoint({ source: src, sink, kept, maxShardBytes: 700 });
    const n = result.plan.shards.length;
    expect(n).toBeGreaterThan(3);
    const index = JSON.parse(dec.decode(sink.files.get(INDEX_FILE)!));
    expect(Object.keys(index)).toEqual(['metadata', 'weight_map']);
    const out = expectPrunedCopy(c, sink.files, kept);
    expect(index.metadata.total_size).toBe([...out.values()].reduce((a, t) => a + t.data.byteLength, 0));
    expect(Object.keys(index.weight_map)).toEqual([...out.keys()].sort());
    for (const [name, t] of out) expect(index.weight_map[name]).toBe(t.file);
    for (let i = 1; i <= n; i++) {
      const file = `model-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
      const bytes = sink.files.get(file)!;
      const data = bytes.byteLength - parseSafetensors(bytes).headerBytes;
      // A shard passes the limit only when it holds a single tensor larger than the limit.
      const tensors = parseSafetensors(bytes).tensors;
      expect(data <= 700 || tensors.length === 1).toBe(true);
    }
    expect(sink.files.has('model.safetensors')).toBe(false);
  });

  it('converts F32 and BF16 to F16 on request (odd piece sizes), config dtype updated', async () => {
    for (const dtype of ['F32', 'BF16'] as const) {
      const { c, src } = source({ dtype, layers: 3 }, 7);
      const sink = new MemorySink();
      const result = await exportPrunedCheckpoint({ source: src, sink, kept: [0, 2], toF16: true });
      expect(result.overflowed).toBe(0);
      const out = readOutput(sink.files);
      for (const t of c.tensors) {
        const name = renamed(t.name, [0, 2]);
        if (!name) continue;
        const o = out.get(name)!;
        expect(o.dtype).toBe('F16');
        const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        const got = new DataView(o.data.buffer, o.data.byteOffset, o.data.byteLength);
        const count = t.data.byteLength / (dtype === 'F32' ? 4 : 2);
        expect(o.data.byteLength).toBe(count * 2);
        for (let i = 0; i < count; i++) {
          const v = dtype === 'F32' ? view.getFloat32(i * 4, true) : bf16BitsToF32(view.getUint16(i * 2, true));
          expect(got.getUint16(i * 2, true)).toBe(f32ToF16Bits(v));
        }
      }
      const config = JSON.parse(dec.decode(sink.files.get('config.json')!));
      expect(config.torch_dtype).toBe('float16');
    }
    expect(convertToF16('F32', new Uint8Array(new Float32Array([1e6, 1, Infinity]).buffer), new Uint8Array(6))).toBe(1);
  });

  it('F16 sources are copied byte for byte even with toF16', async () => {
    const { c, src } = source({ dtype: 'F16' });
    const sink = new MemorySink();
    await exportPrunedCheckpoint({ source: src, sink, kept: [0, 1, 4], toF16: true });
    expectPrunedCopy(c, sink.files, [0, 1, 4]);
  });

  it('edits config.json in place: other bytes unchanged, per-layer lists filtered', () => {
    const text = '{\n  "architectures": ["LlamaForCausalLM"],\n  "num_hidden_layers" :  4,\n  "rms_norm_eps": 1e-05,\n  "rope_theta": 500000.0,\n' +
      '  "text_config": {"num_hidden_layers": 4, "s": "a \\" } ]"},\n  "layer_types": ["full", "sliding", "full", "sliding"],\n  "torch_dtype": "bfloat16"\n}\n';
    const out = prunedConfigText(text, [0, 3]);
    expect(out).toBe(text.replace('"num_hidden_layers" :  4', '"num_hidden_layers" :  2').replace('["full", "sliding", "full", "sliding"]', '["full","sliding"]'));
    expect(prunedConfigText(text, [0, 1, 2], { toF16: true })).toContain('"torch_dtype": "float16"');
    expect(() => prunedConfigText(text, [0, 4])).toThrow(/kept block 4 does not exist in a model of 4 blocks/);
    expect(() => prunedConfigText('{"num_hidden_layers": "4"}', [0])).toThrow(/positive integer/);
    expect(() => prunedConfigText('{"num_hidden_layers": 4, "layer_types": [1]}', [0])).toThrow(/layer_types has 1 entries for 4 layers/);
  });

  it('writes the mask next to the weights and checks it fits', async () => {
    const { c, src } = source({ layers: 5 });
    const mask = buildMask({
      model: { source: { kind: 'local', name: 'synthetic' }, architecture: 'LlamaForCausalLM', num_hidden_layers: 5, fingerprint: 'c'.repeat(64) },
      criterion: { name: 'manual', calibration: null, protected_blocks: [] },
      removed: [1, 3],
      createdAt: '2026-11-29T19:00:00Z',
    });
    const sink = new MemorySink();
    await exportPrunedCheckpoint({ source: src, sink, mask });
    expect(dec.decode(sink.files.get('pruning_mask.json')!)).toBe(serializeMask(mask));
    expectPrunedCopy(c, sink.files, [0, 2, 4]);
    const six = memorySource(syntheticCheckpoint({ layers: 6 }).configText, c.tensors, c.files);
    await expect(exportPrunedCheckpoint({ source: six, sink: new MemorySink(), mask })).rejects.toThrow(/mask is for a model with 5 blocks, config.json has 6/);
    await expect(exportPrunedCheckpoint({ source: src, sink: new MemorySink(), mask, kept: [0, 1] })).rejects.toThrow(/kept and mask.kept differ/);
  });

  it('reads one tensor at a time and never holds the whole model', async () => {
    const { c, src } = source({ layers: 4 }, 16);
    let active = 0;
    let maxActive = 0;
    let maxPiece = 0;
    const watched: ExportSource = {
      ...src,
      tensors: src.tensors,
      files: src.files,
      async *chunks(name) {
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          for await (const p of src.chunks(name)) {
            maxPiece = Math.max(maxPiece, p.byteLength);
            yield p;
          }
        } finally {
          active--;
        }
      },
    };
    const writes: number[] = [];
    const inner = new MemorySink();
    await exportPrunedCheckpoint({
      source: watched,
      sink: { create: async (name, size) => { const f = await inner.create(name, size); return { ...f, write: async (b) => { writes.push(b.byteLength); await f.write(b); } }; } },
      kept: [0, 3],
    });
    expect(maxActive).toBe(1);
    expect(maxPiece).toBeLessThanOrEqual(16);
    expect(Math.max(...writes.slice(1, -6))).toBeLessThanOrEqual(16);
    expectPrunedCopy(c, inner.files, [0, 3]);
  });

  it('refuses bad input with a clear error and aborts partial files', async () => {
    const { c, src } = source({ layers: 3 });
    await expect(exportPrunedCheckpoint({ source: src, sink: new MemorySink(), kept: [] })).rejects.toThrow(/no block is kept/);
    await expect(exportPrunedCheckpoint({ source: src, sink: new MemorySink(), kept: [2, 1] })).rejects.toThrow(/sorted and unique/);
    await expect(exportPrunedCheckpoint({ source: src, sink: new MemorySink() })).rejects.toThrow(/pass kept or mask/);
    const bad = memorySource(c.configText, c.tensors.map((t) => (t.name === 'model.layers.1.mlp.up_proj.weight' ? { ...t, shape: [1, 1] } : t)), c.files);
    await expect(exportPrunedCheckpoint({ source: bad, sink: new MemorySink(), kept: [0] })).rejects.toThrow(/model.layers.1.mlp.up_proj.weight.*shape \[1, 1\]/);
    const extra = memorySource(c.configText, [...c.tensors, { name: 'model.layers.7.x', dtype: 'F16', shape: [1], data: new Uint8Array(2) }], c.files);
    await expect(exportPrunedCheckpoint({ source: extra, sink: new MemorySink(), kept: [0] })).rejects.toThrow(/belongs to block 7, but the model has 3 blocks/);
    const missing = memorySource(c.configText, c.tensors.filter((t) => !t.name.startsWith('model.layers.2.')), c.files);
    await expect(exportPrunedCheckpoint({ source: missing, sink: new MemorySink(), kept: [2] })).rejects.toThrow(/no tensors for kept block\(s\) 2/);

    let aborted = 0;
    const short: ExportSource = { ...src, async *chunks(name) { for await (const p of src.chunks(name)) yield p.subarray(0, p.byteLength - 1); } };
    const inner = new MemorySink();
    await expect(
      exportPrunedCheckpoint({ source: short, sink: { create: async (n, s) => ({ ...(await inner.create(n, s)), abort: async () => void aborted++ }) }, kept: [0] }),
    ).rejects.toBeInstanceOf(ExportError);
    expect(aborted).toBe(1);
    expect(inner.files.size).toBe(0);
  });

  it('plan: sizes and the copy rule', () => {
    const { src } = source({ layers: 4, dtype: 'F32' });
    const plan = planPrunedCheckpoint(src.tensors, [1, 2], 4, { toF16: true });
    const all = src.tensors.reduce((a, t) => a + t.byteLength, 0);
        expect(plan.totalSize * 2 + plan.droppedBytes).toBe(all);
    expect(['tokenizer.json', 'generation_config.json', 'tokenizer.model', 'README.md', 'chat_template.jinja'].every(isCopiedFile)).toBe(true);
    expect(['config.json', 'model.safetensors', 'model-00001-of-00002.safetensors', INDEX_FILE, 'pytorch_model.bin', 'pytorch_model.bin.index.json', 'pruning_mask.json', '.gitattributes', 'original/consolidated.00.pth'].some(isCopiedFile)).toBe(false);
  });
});

describe('export: sinks and the Node folder source', () => {
  it('Node folder -> Node folder equals the in-memory export, for single and sharded sources', async () => {
    for (const shards of [1, 3]) {
      const c = syntheticCheckpoint({ layers: 5, seed: 11, shards, extra: true });
      const dir = await mkdtemp(join(tmpdir(), 'dpl-src-'));
      const out = await mkdtemp(join(tmpdir(), 'dpl-out-'));
      temps.push(dir, out);
      await writeCheckpointFiles(dir, c.folder);
      const src = await nodeFolderExportSource(dir);
      await exportPrunedCheckpoint({ source: src, sink: await nodeFolderSink(out, { overwrite: true }), kept: [0, 2, 4], maxShardBytes: 1000 });
      const mem = new MemorySink();
      await exportPrunedCheckpoint({ source: memorySource(c.configText, c.tensors, c.files), sink: mem, kept: [0, 2, 4], maxShardBytes: 1000 });
      const listing = await folderListing(out);
      expect(Object.keys(listing).sort()).toEqual([...mem.files.keys()].sort());
      for (const [name, bytes] of mem.files) expect(Buffer.from(await readFile(join(out, name))).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });

  it('a source that cannot list its files (the Hub) copies the known tokenizer/generation files it has', async () => {
    const c = syntheticCheckpoint({ layers: 3 });
    const dir = await mkdtemp(join(tmpdir(), 'dpl-nolist-'));
    temps.push(dir);
    await writeCheckpointFiles(dir, c.folder);
    const folder = new NodeFolderSource(dir);
    const unlisted: CheckpointSource = {
      name: 'unlisted', cacheKey: 'unlisted',
      size: (f) => folder.size(f), exists: (f) => folder.exists(f), readText: (f, s) => folder.readText(f, s),
      readRange: (f, a, b, s) => folder.readRange(f, a, b, s), stream: (f, a, b, s) => folder.stream(f, a, b, s),
    };
    const src = await exportSourceFromIndex(await inspectCheckpoint(unlisted));
    expect([...src.files].sort()).toEqual(['generation_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    const sink = new MemorySink();
    await exportPrunedCheckpoint({ source: src, sink, kept: [0, 2] });
    expect([...sink.files.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  });

  it('Node folder sink refuses a non-empty folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpl-busy-'));
    temps.push(dir);
    await writeFile(join(dir, 'x'), 'x');
    await expect(nodeFolderSink(dir)).rejects.toThrow(/not empty/);
  });

  it('BlobSink and DirectorySink hold the same files as the memory sink', async () => {
    const { src } = source({ layers: 3 });
    const mem = new MemorySink();
    await exportPrunedCheckpoint({ source: src, sink: mem, kept: [0, 2], maxShardBytes: 900 });

    const blobs = new BlobSink();
    await exportPrunedCheckpoint({ source: src, sink: blobs, kept: [0, 2], maxShardBytes: 900 });
    const files = blobs.files();
    expect(files.map((f) => f.name).sort()).toEqual([...mem.files.keys()].sort());
    for (const f of files) expect(Buffer.from(await f.arrayBuffer()).equals(Buffer.from(mem.files.get(f.name)!))).toBe(true);

    const written = new Map<string, Uint8Array[]>();
    const dir: DirectoryHandleLike = {
      getFileHandle: async (name) => ({
        createWritable: async () => {
          const parts: Uint8Array[] = [];
          return { write: async (d) => void parts.push(d.slice()), close: async () => void written.set(name, parts) };
        },
      }),
    };
    await exportPrunedCheckpoint({ source: src, sink: new DirectorySink(dir), kept: [0, 2], maxShardBytes: 900 });
    for (const [name, bytes] of mem.files) expect(Buffer.concat(written.get(name)!).equals(Buffer.from(bytes)), name).toBe(true);
  });
});
