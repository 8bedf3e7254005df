import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeHost } from '../../src/node/host';
import { acquireNodeDevice } from '../../src/node/dawn';
import { LabEngine } from '../../src/app/lab';
import type { EngineReply, GenerateRequest } from '../../src/app/protocol';

let engine: LabEngine;
beforeAll(async () => {
  engine = new LabEngine(await acquireNodeDevice('warmup-test'), nodeHost);
  await engine.load({ kind: 'embedded', name: 'kjv-tiny-llama' }, new AbortController().signal, () => {});
});
afterAll(() => engine?.dispose());

const request = (prompt: string): GenerateRequest => ({
  type: 'generate', prompt, plan: engine.model!.fullPlan(), maxNewTokens: 6, sampling: { temperature: 1, topK: 50, topP: 0.95 }, seed: 9,
});

async function generated(r: GenerateRequest, signal = new AbortController().signal): Promise<Extract<EngineReply, { type: 'generated' }>> {
  const reply = await engine.handle(r, { signal, progress: () => {} });
  if (reply.type !== 'generated') throw new Error(`unexpected reply ${reply.type}`);
  return reply;
}

describe('generation warm-up in the engine', { timeout: 300_000 }, () => {
  it('runs once per prompt length and kind of selection, before the timed run, without changing its text', async () => {
    const first = await generated(request('In the beginning'));
    const again = await generated(request('In the beginning'));
    expect(first.warmupMs).toBeGreaterThan(0);
    expect(again.warmupMs).toBe(0);
    expect(again.text).toBe(first.text); // same seed: the warm-up drew from its own generator
    expect((await generated({ ...request('In the beginning'), sampling: { temperature: 0 } })).warmupMs).toBeGreaterThan(0);
    expect((await generated(request('And God said, Let there be light'))).warmupMs).toBeGreaterThan(0);
  });

  it('a cancel during the warm-up ends the job before the timed run', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(generated(request('Blessed are the meek'), ctl.signal)).rejects.toThrow(/cancel/i);
  });
});
