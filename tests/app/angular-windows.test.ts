import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeHost } from '../../src/node/host';
import { acquireNodeDevice } from '../../src/node/dawn';
import { LabEngine } from '../../src/app/lab';

let engine: LabEngine;
beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('angular-test'), nodeHost);
  await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
});
afterAll(() => engine?.dispose());

describe('angular distance in the engine', { timeout: 300_000 }, () => {
  it('returns d(l, l+n) for every window length, so any k can be a contiguous run', async () => {
    const reply = await engine.handle({
      type: 'score', criteria: ['angular'], calibration: { text: { kind: 'embedded', name: 'calibration' }, n: 2, t: 16, seed: 1, bos: 'first' }, k: 6, protect: [],
    }, { signal: new AbortController().signal, progress: () => {} });
    if (reply.type !== 'scored') throw new Error(`unexpected reply ${reply.type}`);
    const windows = reply.results[0]!.detail.windows as number[][];
    expect(windows.map((w) => w.length)).toEqual(Array.from({ length: 15 }, (_, i) => 16 - (i + 1) + 1));
    expect(windows.flat().every((d) => d >= 0 && d <= 1)).toBe(true);
  });
});
