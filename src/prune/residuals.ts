/**
 * The residual stream entering every block of a plan (and leaving the last), captured from one
 * forward pass of the calibration batch. The PPL criterion restarts forwards from these; Block
 * Influence and angular distance compare them.
 */
import { createStorageBuffer } from '../gpu/buffers';
import type { BatchForward } from '../model/batch-forward';
import type { BlockPlan } from '../model/plan';

export interface Residuals {
  /** states[j]: input of plan[j]; states[plan.length]: output of the last block (before the final norm). */
  states: GPUBuffer[];
  bytes: number;
  destroy(): void;
}

/** Runs `plan` once on the batch's tokens, capturing every block input; returns the NLL too. */
export async function captureResiduals(batch: BatchForward, plan: BlockPlan, device: GPUDevice) {
  const bytes = batch.rows * batch.config.hiddenSize * 4;
  const states: GPUBuffer[] = [];
  try {
    for (let j = 0; j <= plan.length; j++) states.push(createStorageBuffer(device, bytes, `residual.${j}`));
  } catch (e) {
    states.forEach((s) => s.destroy());
    throw e;
  }
  const residuals: Residuals = { states, bytes: bytes * states.length, destroy: () => states.forEach((s) => s.destroy()) };
  const nll = await batch.run({ plan, captures: states });
  return { residuals, nll };
}
