/** The seed's magnitude baseline: per block, the sum over its weights (LLaMA's 9, plus a family's biases and q/k norms) of sum |W|. No data. */
import { createStorageBuffer, readF32 } from '../gpu/buffers';
import { AbsSum } from '../kernels/statistics';
import type { LlamaModel } from '../model/model';
import { blockTensors } from '../model/weights';

export interface WeightScores {
  /** [L][kinds] in blockWeightNames order (LLaMA: the 9 of BLOCK_WEIGHT_NAMES). */
  perWeight: number[][];
  perBlock: number[];
}

export async function magnitudeScores(model: LlamaModel): Promise<WeightScores> {
  const rt = model.rt;
  const blocks = model.weights.blocks;
  const S = blockTensors(blocks[0]!).length;
  const scores = createStorageBuffer(rt.device, blocks.length * S * 4, 'magnitude.scores');
  const ops = blocks.flatMap((b, i) => blockTensors(b).map((t, k) => new AbsSum(rt, t, scores, i * S + k)));
  try {
    const encoder = rt.device.createCommandEncoder({ label: 'magnitude' });
    const pass = encoder.beginComputePass();
    ops.forEach((op) => op.encode(pass));
    pass.end();
    rt.device.queue.submit([encoder.finish()]);
    const flat = await readF32(rt.device, scores, blocks.length * S);
    const perWeight = blocks.map((_, i) => Array.from(flat.subarray(i * S, i * S + S)));
    return { perWeight, perBlock: perWeight.map((w) => w.reduce((a, b) => a + b, 0)) };
  } finally {
    ops.forEach((op) => op.destroy());
    scores.destroy();
  }
}
