import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { exportPrunedCheckpoint } from '../../src/export/checkpoint';
import { nodeFolderExportSource, nodeFolderSink } from '../../src/node/folder-export';
import { planWithout } from '../../src/model/plan';
import { EMBEDDED_MODEL, loadTestModel } from '../helpers/models';
import { relativeError } from '../helpers/numeric';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

it('an exported pruned checkpoint reloads with the logits of the pruned plan in memory', { timeout: 600_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'dpl-export-'));
  dirs.push(out);
  const removed = [5, 6, 9, 12];
  const full = await loadTestModel();
  const kept = planWithout(full.numLayers, removed);
  await exportPrunedCheckpoint({ source: await nodeFolderExportSource(EMBEDDED_MODEL), sink: await nodeFolderSink(out, { overwrite: true }), kept });
  const pruned = await loadTestModel(out);
  try {
    expect(pruned.numLayers).toBe(kept.length);
    const ids = Uint32Array.from([1, 400, 77, 1021, 9, 2500, 31, 64, 3000, 12]);
    const logits = async (m: typeof full, plan: number[]) => {
      const batch = m.batch(1, ids.length);
      batch.setTokens(ids);
      await batch.run({ plan });
      return batch.logitsRows([0, 4, ids.length - 1]);
    };
    const inMemory = await logits(full, kept);
    const reloaded = await logits(pruned, pruned.fullPlan());
    // Same weights, same kernels, same order of operations: identical up to f32 rounding.
    inMemory.forEach((row, i) => expect(relativeError(reloaded[i]!, row)).toBeLessThan(1e-6));
  } finally {
    full.dispose();
    pruned.dispose();
  }
});
