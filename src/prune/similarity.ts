/**
 * Forward-only criteria from the residual stream of one calibration forward:
 * - Block Influence (ShortGPT): BI_i = mean over all tokens of 1 - cos(h_i, h_{i+1}).
 * - Angular distance (Gromov et al.): d(l, l+n) = mean over samples of arccos(cos(h_l, h_{l+n}))/pi
 *   at the last token; the window l..l+n-1 with the smallest d is removed.
 * h_i is the residual stream entering block i; h_L leaves the last block (before the final norm).
 */
import { createStorageBuffer, readF32, readBuffer } from '../gpu/buffers';
import { RowCosine } from '../kernels/statistics';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';
import { checkCancelled, type JobOptions } from '../util/job';
import { captureResiduals } from './residuals';

export interface SimilarityScores {
  /** Block Influence per block of the plan (low = the block changes the stream little). */
  blockInfluence: number[];
  /** angular[n - 1][l] = d(l, l + n) for n = 1..maxWindow. */
  angular: number[][];
}

export async function similarityScores(
  model: LlamaModel,
  ids: Uint32Array,
  N: number,
  T: number,
  o: JobOptions & { plan?: BlockPlan; maxWindow?: number } = {},
): Promise<SimilarityScores> {
  const plan = o.plan ?? model.fullPlan();
  const rt = model.rt;
  const H = model.config.hiddenSize;
  const batch = model.batch(N, T);
  batch.setTokens(ids);
  const { residuals } = await captureResiduals(batch, plan, rt.device);
  const rows = N * T;
  const cos = createStorageBuffer(rt.device, rows * 4, 'bi.cos');
  try {
    o.onProgress?.(1, plan.length + 2, 'forward');
    const blockInfluence: number[] = [];
    for (let j = 0; j < plan.length; j++) {
      checkCancelled(o.signal);
      const op = new RowCosine(rt, rows, H, residuals.states[j]!, residuals.states[j + 1]!, cos);
      const encoder = rt.device.createCommandEncoder({ label: 'bi' });
      const pass = encoder.beginComputePass();
      op.encode(pass);
      pass.end();
      rt.device.queue.submit([encoder.finish()]);
      const c = await readF32(rt.device, cos, rows);
      let s = 0;
      for (const v of c) s += 1 - v;
      blockInfluence.push(s / rows);
      o.onProgress?.(j + 2, plan.length + 2, `block ${plan[j]}`);
    }
    // Angular distance needs only the last token of each sample: read those rows back.
    const last: Float32Array[][] = [];
    for (const state of residuals.states) {
      last.push(await Promise.all(Array.from({ length: N }, async (_, s) => new Float32Array(await readBuffer(rt.device, state, H * 4, ((s + 1) * T - 1) * H * 4)))));
    }
    const angular: number[][] = [];
    for (let n = 1; n <= Math.min(o.maxWindow ?? 4, plan.length); n++) {
      const d: number[] = [];
      for (let l = 0; l + n <= plan.length; l++) {
        let sum = 0;
        for (let s = 0; s < N; s++) sum += Math.acos(clamp(cosine(last[l]![s]!, last[l + n]![s]!))) / Math.PI;
        d.push(sum / N);
      }
      angular.push(d);
    }
    o.onProgress?.(plan.length + 2, plan.length + 2, 'angular');
    return { blockInfluence, angular };
  } finally {
    cos.destroy();
    residuals.destroy();
  }
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

const clamp = (x: number) => Math.min(1, Math.max(-1, x));
