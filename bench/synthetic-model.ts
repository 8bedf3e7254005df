/** A synthetic checkpoint written to a temporary folder, loaded, handed to `use`, then disposed and deleted. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuRuntime } from '../src/gpu/runtime';
import { loadCheckpoint } from '../src/io/load';
import { LlamaModel } from '../src/model/model';
import { NodeFolderSource } from '../src/node/folder-source';
import { writeLargeCheckpoint, type SyntheticOptions } from '../tests/helpers/synthetic-checkpoint';

export async function withSyntheticModel<T>(rt: GpuRuntime, shape: SyntheticOptions, use: (model: LlamaModel) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-model-'));
  try {
    await writeLargeCheckpoint(dir, shape);
    const model = new LlamaModel(rt, await loadCheckpoint(rt.device, new NodeFolderSource(dir)));
    try {
      return await use(model);
    } finally {
      model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
