import { describe, expect, it } from 'vitest';
import { encodeAll, recordDispatches, type Dispatch, type Encodable } from '../../src/kernels/common';

// Stand-ins: only identity matters to the recorder and the encoder.
const pipeline = (name: string) => ({ label: name }) as unknown as GPUComputePipeline;
const group = (name: string) => ({ label: name }) as unknown as GPUBindGroup;

/** A pass that logs every call, to see exactly what a step would encode. */
function loggingPass(): { pass: GPUComputePassEncoder; calls: string[] } {
  const calls: string[] = [];
  const name = (o: { label: string }) => o.label;
  const pass = {
    setPipeline: (p: GPUComputePipeline) => calls.push(`pipeline ${name(p as never)}`),
    setBindGroup: (i: number, g: GPUBindGroup) => calls.push(`group ${i} ${name(g as never)}`),
    dispatchWorkgroups: (x: number, y = 1) => calls.push(`dispatch ${x}x${y}`),
  } as unknown as GPUComputePassEncoder;
  return { pass, calls };
}

const [mv, attn] = [pipeline('matvec'), pipeline('attention')];
const op = (dispatches: Dispatch[]): Encodable => ({ encode: (pass) => encodeAll(pass, dispatches) });

describe('recorded dispatches', () => {
  const ops = [
    op([{ pipeline: mv, bindGroup: group('q'), grid: [4, 1] }]),
    op([{ pipeline: attn, bindGroup: group('split'), grid: [2, 3] }, { pipeline: attn, bindGroup: group('merge'), grid: [1, 1] }]),
    op([{ pipeline: mv, bindGroup: group('o'), grid: [4, 1] }, { pipeline: mv, bindGroup: group('gate'), grid: [8, 1] }]),
  ];

  it('flattens the ops in order, each dispatch with its own pipeline, bind group and grid', () => {
    const flat = recordDispatches(ops);
    expect(flat.map((d) => [(d.pipeline as never as { label: string }).label, (d.bindGroup as never as { label: string }).label, d.grid.join('x')])).toEqual([
      ['matvec', 'q', '4x1'], ['attention', 'split', '2x3'], ['attention', 'merge', '1x1'], ['matvec', 'o', '4x1'], ['matvec', 'gate', '8x1'],
    ]);
  });

  it('encodes the same dispatches as the ops, setting a pipeline only when it changes', () => {
    const direct = loggingPass();
    for (const o of ops) o.encode(direct.pass);
    const replay = loggingPass();
    encodeAll(replay.pass, recordDispatches(ops));
    const withoutPipelines = (calls: string[]) => calls.filter((c) => !c.startsWith('pipeline'));
    expect(withoutPipelines(replay.calls)).toEqual(withoutPipelines(direct.calls));
    // Every dispatch still sees the pipeline it was recorded with.
    expect(replay.calls).toEqual([
      'pipeline matvec', 'group 0 q', 'dispatch 4x1',
      'pipeline attention', 'group 0 split', 'dispatch 2x3', 'group 0 merge', 'dispatch 1x1',
      'pipeline matvec', 'group 0 o', 'dispatch 4x1', 'group 0 gate', 'dispatch 8x1',
    ]);
  });
});
