import { describe, expect, it } from 'vitest';
import { inspectCheckpoint } from '../../src/io/checkpoint';
import {
  ByteSpanError,
  CheckpointError,
  DataLayoutError,
  ExtraBlocksError,
  FileMissingError,
  HeaderJsonError,
  HeaderLengthError,
  MissingTensorError,
  NoWeightsError,
  OverlappingSpansError,
  PickleCheckpointError,
  ShardIndexError,
  TensorEntryError,
  TensorShapeError,
  TruncatedFileError,
  UnsupportedConfigError,
  UnsupportedDTypeError,
} from '../../src/io/errors';
import { FilesSource } from '../../src/io/file-source';
import { encodeSafetensors, parseHeaderLength, parseSafetensorsHeader } from '../../src/io/safetensors';
import { mulberry32 } from '../../src/util/random';
import { asFiles, makeSyntheticCheckpoint } from '../helpers/synthetic-checkpoint';
import { seededRandom } from '../helpers/numeric';

const enc = new TextEncoder();

/** A safetensors file whose JSON header is `header` (raw text) with `dataBytes` of data. */
function rawFile(header: string, dataBytes: number): Uint8Array {
  const json = enc.encode(header);
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  return out;
}

function parse(file: Uint8Array) {
  const n = parseHeaderLength('x.safetensors', file.byteLength, file.subarray(0, 8));
  return parseSafetensorsHeader('x.safetensors', file.byteLength, n, file.subarray(8, 8 + n));
}

function sourceWith(files: Map<string, Uint8Array>): FilesSource {
  return new FilesSource(asFiles(files));
}

async function inspectError(files: Map<string, Uint8Array>): Promise<unknown> {
  try {
    await inspectCheckpoint(sourceWith(files));
  } catch (e) {
    return e;
  }
  return null;
}

describe('safetensors header', () => {
  it('parses a valid file: absolute offsets, metadata', () => {
    const file = encodeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: new Uint8Array(24) },
        { name: 'b', dtype: 'BF16', shape: [5], data: new Uint8Array(10) },
      ],
      { format: 'pt' },
    );
    const h = parse(file);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.map((t) => [t.name, t.dtype, t.shape, t.end - t.begin])).toEqual([['a', 'F32', [2, 3], 24], ['b', 'BF16', [5], 10]]);
    expect(h.tensors[0]!.begin).toBe(h.dataOffset);
    expect(h.dataOffset % 8).toBe(0);
  });

  it('rejects each kind of bad header with its own error', () => {
    const ok = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(() => parse(new Uint8Array(5))).toThrow(TruncatedFileError);
    const long = rawFile(ok, 8);
    new DataView(long.buffer).setUint32(0, long.byteLength, true);
    expect(() => parse(long)).toThrow(HeaderLengthError);
    const huge = rawFile(ok, 8);
    new DataView(huge.buffer).setUint32(4, 1, true);
    expect(() => parse(huge)).toThrow(HeaderLengthError);
    expect(() => parse(rawFile('{"a":', 8))).toThrow(HeaderJsonError);
    expect(() => parse(rawFile('[1,2]', 8))).toThrow(HeaderJsonError);
    const badUtf8 = rawFile('{"a":1}', 0);
    badUtf8[10] = 0xff;
    expect(() => parse(badUtf8)).toThrow(HeaderJsonError);
    expect(() => parse(rawFile('{"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}', 2))).toThrow(UnsupportedDTypeError);
    expect(() => parse(rawFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8))).toThrow(ByteSpanError);
    expect(() => parse(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[4],"data_offsets":[4,12]}}', 12))).toThrow(
      OverlappingSpansError,
    );
    expect(() => parse(rawFile(ok, 4))).toThrow(TruncatedFileError);
    expect(() => parse(rawFile('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', 8))).toThrow(TensorEntryError);
    expect(() => parse(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', 8))).toThrow(TensorEntryError);
    expect(() => parse(rawFile('{"a":{"dtype":"F32","shape":[2]}}', 8))).toThrow(TensorEntryError);
    expect(() => parse(rawFile('{"__metadata__":[1]}', 0))).toThrow(TensorEntryError);
  });

  it('is as strict as the reference library: no gap between tensors, no trailing bytes; accepts "__metadata__": null', () => {
    const two = (bOffsets: string) => `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":${bOffsets}}}`;
    expect(parse(rawFile(two('[8,12]'), 12)).tensors).toHaveLength(2);
    expect(() => parse(rawFile(two('[12,16]'), 16))).toThrow(DataLayoutError);
    expect(() => parse(rawFile(two('[12,16]'), 16))).toThrow(/4 unused bytes between tensor "a" and tensor "b"/);
    expect(() => parse(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12))).toThrow(/unused bytes between the start of the data area/);
    expect(() => parse(rawFile(two('[8,12]'), 20))).toThrow(/8 bytes after the last tensor/);
    // Zero-size tensors take no bytes anywhere.
    expect(parse(rawFile('{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8)).tensors).toHaveLength(2);
    const nullMeta = parse(rawFile('{"__metadata__":null,"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8));
    expect(nullMeta.metadata).toBeNull();
    expect(nullMeta.tensors.map((t) => t.name)).toEqual(['a']);
  });

  it('error messages name the file and tensor', () => {
    try {
      parse(rawFile('{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}', 8));
    } catch (e) {
      expect((e as Error).message).toMatch(/x\.safetensors.*"w".*I32.*F32, F16, BF16.*quantized/);
    }
  });

  it('fuzz: 2000 mutated headers throw only the library errors (or parse)', () => {
    const { seed } = seededRandom('safetensors fuzz');
    const next = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const base = encodeSafetensors([
      { name: 'model.embed_tokens.weight', dtype: 'F16', shape: [4, 3], data: new Uint8Array(24) },
      { name: 'model.norm.weight', dtype: 'F32', shape: [3], data: new Uint8Array(12) },
      { name: 'lm_head.weight', dtype: 'BF16', shape: [4, 3], data: new Uint8Array(24) },
    ], { format: 'pt' });
    const n = new DataView(base.buffer).getUint32(0, true);
    const headerText = new TextDecoder().decode(base.subarray(8, 8 + n));
    const tokens = ['{', '}', '[', ']', ',', ':', '"', '-1', '0', '1e309', '9007199254740993', 'null', 'true', '"F64"', '"BF16"', '"__metadata__"', '\\u0000', '\u00e9', '[0,0]'];
    let parsed = 0;
    const counts = new Map<string, number>();
    for (let iter = 0; iter < 2000; iter++) {
      let text = headerText;
      if (iter % 2 === 0) {
        // Structural: valid JSON with one field of one entry replaced by a random value.
        const header = JSON.parse(headerText) as Record<string, Record<string, unknown>>;
        const name = pick(Object.keys(header).filter((k) => k !== '__metadata__'));
        const field = pick(['dtype', 'shape', 'data_offsets', 'data_offsets', 'shape']);
        const values: unknown[] = [
          Math.floor(next() * 80), -1, 1.5, null, 'F32', 'F64', 'I8', [], [Math.floor(next() * 40)],
          [Math.floor(next() * 40), Math.floor(next() * 80)], [2, 3, 4], { a: 1 }, 'x', [0, 2 ** 60],
        ];
        const r0 = next();
        if (r0 < 0.25) {
          // Shift a whole span: overlaps a neighbour or runs past the data.
          const [b, e] = header[name]!.data_offsets as number[];
          const delta = Math.floor(next() * 40) - 20;
          header[name]!.data_offsets = [b! + delta, e! + delta];
        } else if (field === 'dtype' || r0 < 0.6) header[name]![field] = pick(values);
        else {
          const arr = [...(header[name]![field] as number[])];
          arr[Math.floor(next() * arr.length)] = Math.floor(next() * 80);
          header[name]![field] = arr;
        }
        text = JSON.stringify(header);
      }
      const edits = iter % 2 === 0 ? 0 : 1 + Math.floor(next() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(next() * text.length);
        const r = next();
        if (r < 0.3) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 5));
        else if (r < 0.6) text = text.slice(0, at) + pick(tokens) + text.slice(at);
        else if (r < 0.8) text = text.slice(0, at) + String(Math.floor(next() * 100)) + text.slice(at + 1);
        else text = text.replace(/\d+/, String(Math.floor(next() * 200) - 20));
      }
      let bytes = rawFile(text, 60 + Math.floor(next() * 3) * 8);
      const r = next();
      if (r < 0.1) bytes = bytes.subarray(0, Math.floor(next() * bytes.byteLength));
      else if (r < 0.2) new DataView(bytes.buffer).setUint32(0, Math.floor(next() * 2 ** 32), true);
      else if (r < 0.25) bytes[Math.floor(next() * bytes.byteLength)] ^= 1 << Math.floor(next() * 8);
      try {
        parse(bytes);
        parsed++;
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw new Error(`iteration ${iter}: non-library error ${String(e)} for header ${JSON.stringify(text)}`);
        counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
      }
    }
    console.log(`[safetensors fuzz] parsed=${parsed}`, Object.fromEntries(counts));
    expect(counts.size).toBeGreaterThanOrEqual(6);
  });
});

describe('checkpoint discovery and validation', () => {
  it('inspects single-file and sharded checkpoints alike', async () => {
    const single = await inspectCheckpoint(sourceWith(makeSyntheticCheckpoint({ dtype: 'BF16', kvHeads: 2 }).files));
    const sharded = await inspectCheckpoint(sourceWith(makeSyntheticCheckpoint({ dtype: 'BF16', kvHeads: 2, shards: 3 }).files));
    expect(sharded.files.length).toBe(3);
    expect(single.planned.map((t) => t.name).sort()).toEqual(sharded.planned.map((t) => t.name).sort());
    expect(single.layoutFingerprint).toBe(sharded.layoutFingerprint);
    const tied = await inspectCheckpoint(sourceWith(makeSyntheticCheckpoint({ tied: true, extra: true }).files));
    expect(tied.planned.some((t) => t.name === 'lm_head.weight')).toBe(false);
    expect(tied.extra).toEqual(['model.layers.0.self_attn.rotary_emb.inv_freq']);
  });

  it('missing tensor, wrong shape, unsupported architecture, .bin only, missing config, bad index', async () => {
    const ck = makeSyntheticCheckpoint();
    const without = (name: string) =>
      encodeSafetensors(ck.tensors.filter((t) => t.name !== name));
    const files = (patch: Record<string, Uint8Array | undefined>) => {
      const m = new Map(ck.files);
      for (const [k, v] of Object.entries(patch)) (v ? m.set(k, v) : m.delete(k));
      return m;
    };
    const missing = await inspectError(files({ 'model.safetensors': without('model.layers.1.mlp.up_proj.weight') }));
    expect(missing).toBeInstanceOf(MissingTensorError);
    expect((missing as Error).message).toContain('model.layers.1.mlp.up_proj.weight');

    const reshaped = encodeSafetensors(ck.tensors.map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [2, 8] } : t)));
    const shape = await inspectError(files({ 'model.safetensors': reshaped }));
    expect(shape).toBeInstanceOf(TensorShapeError);
    expect((shape as Error).message).toMatch(/model\.norm\.weight.*\[2, 8\].*\[16\]/);

    const gpt2 = enc.encode(JSON.stringify({ ...ck.config, architectures: ['GPT2LMHeadModel'] }));
    expect(await inspectError(files({ 'config.json': gpt2 }))).toBeInstanceOf(UnsupportedConfigError);

    const pickle = await inspectError(files({ 'model.safetensors': undefined, 'pytorch_model.bin': new Uint8Array(10) }));
    expect(pickle).toBeInstanceOf(PickleCheckpointError);
    expect((pickle as Error).message).toMatch(/pickle checkpoints are not supported.*convert to safetensors/);

    expect(await inspectError(files({ 'model.safetensors': undefined }))).toBeInstanceOf(NoWeightsError);
    expect(await inspectError(files({ 'config.json': undefined }))).toBeInstanceOf(FileMissingError);

    const cut = ck.files.get('model.safetensors')!;
    expect(await inspectError(files({ 'model.safetensors': cut.subarray(0, cut.byteLength - 100) }))).toBeInstanceOf(TruncatedFileError);

    const sharded = makeSyntheticCheckpoint({ shards: 2 });
    const index = (weightMap: unknown) => {
      const m = new Map(sharded.files);
      m.set('model.safetensors.index.json', enc.encode(JSON.stringify({ weight_map: weightMap })));
      return m;
    };
    const goodMap = JSON.parse(new TextDecoder().decode(sharded.files.get('model.safetensors.index.json')!)).weight_map;
    expect(await inspectError(index({ ...goodMap, 'model.norm.weight': '../../etc/passwd' }))).toBeInstanceOf(ShardIndexError);
    const swapped = { ...goodMap, 'model.norm.weight': goodMap['model.embed_tokens.weight'] };
    expect(await inspectError(index(swapped))).toBeInstanceOf(ShardIndexError);
    expect(await inspectError(index(null))).toBeInstanceOf(ShardIndexError);
    // Blocks beyond num_hidden_layers are not dropped silently.
    const shorter = enc.encode(JSON.stringify({ ...ck.config, num_hidden_layers: 1 }));
    const extraBlocks = await inspectError(files({ 'config.json': shorter }));
    expect(extraBlocks).toBeInstanceOf(ExtraBlocksError);
    expect((extraBlocks as Error).message).toMatch(/block\(s\) 1 but config\.json says num_hidden_layers = 1/);

    const lostShard = new Map(sharded.files);
    lostShard.delete('model-00002-of-00002.safetensors');
    expect(await inspectError(lostShard)).toBeInstanceOf(FileMissingError);
  });
});
