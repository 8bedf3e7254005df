import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/io/load';
import { NodeFolderSource } from '../../src/node/folder-source';
import { LlamaModel } from '../../src/model/model';
import { testRuntime } from './gpu';

export const EMBEDDED_MODEL = join(process.cwd(), 'public/models/kjv-tiny-llama');
export const VARIANT_MODEL = join(process.cwd(), 'tests/fixtures/variant-llama');
export const FIXTURES = join(process.cwd(), 'tests/fixtures');

export async function loadTestModel(folder = EMBEDDED_MODEL): Promise<LlamaModel> {
  const rt = await testRuntime();
  const ckpt = await loadCheckpoint(rt.device, new NodeFolderSource(folder));
  return new LlamaModel(rt, ckpt);
}

/** tests/fixtures/index.json (written by tools/tiny-llama/make_fixtures.py). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fixtureIndex(): any {
  return JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8'));
}

export function fixtureF32(name: string): Float32Array {
  const b = readFileSync(join(FIXTURES, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

export function fixtureI32(name: string): Int32Array {
  const b = readFileSync(join(FIXTURES, name));
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** Logits at `rows` of one sequence of token ids under a plan (the full model by default). */
export async function logitsAt(model: LlamaModel, ids: ArrayLike<number>, rows: number[], plan: number[] = model.fullPlan()): Promise<Float32Array[]> {
  const batch = model.batch(1, ids.length);
  batch.setTokens(Uint32Array.from(ids));
  await batch.run({ plan });
  return batch.logitsRows(rows);
}
