/**
 * GPU memory a healing run needs beside the frozen weights, estimated before anything is allocated,
 * so a run that cannot fit is refused up front with the estimate (not an out-of-memory error mid-run):
 *   adapters     A and B in f32 with their gradients and AdamW moments: 16 bytes per parameter
 *   backward     backwardMemoryEstimate for the training batch (block inputs, activations, head chunk)
 *   LoRA scratch per batch shape (src/heal/lora.ts, shared by the forward and the backward): u, du 2*M*r, gate/up 2*M*I
 *   evaluation   the held-out forward (8 sequences a batch) with its own LoRA scratch
 * M = rows of a batch. The largest single buffer must also fit maxStorageBufferBindingSize.
 */
import type { ModelConfig } from '../io/config';
import { activationBytes } from '../model/activations';
import { backwardMemoryEstimate } from '../model/backward';
import type { BlockPlan } from '../model/plan';
import { LORA_TARGETS, linearShape } from './lora';

export interface HealMemoryEstimate {
  adapterParameters: number;
  /** Bytes of each part and in all. */
  adapters: number;
  backward: number;
  loraScratch: number;
  evaluation: number;
  total: number;
  /** The largest single buffer (bytes) and what it is. */
  largest: number;
  largestWhat: string;
}

export class HealMemoryError extends RangeError {
  override name = 'HealMemoryError';
}

/** Held-out sequences per evaluation batch (src/heal/run.ts). */
export const EVAL_BATCH = 8;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export function healMemoryEstimate(
  c: ModelConfig,
  plan: BlockPlan,
  s: { r: number; batch: number; window: number },
  limits: { maxStorageBufferBindingSize: number },
): HealMemoryEstimate {
  const M = s.batch * s.window;
  const E = EVAL_BATCH * s.window;
  const shapes = LORA_TARGETS.map((t) => linearShape(c, t));
  const perBlock = shapes.reduce((n, [N, K]) => n + s.r * (N + K), 0);
  const adapterParameters = perBlock * plan.length;
  const scratch = (rows: number) => 4 * rows * (2 * s.r + 2 * c.intermediateSize);
  const adapters = 16 * adapterParameters;
  const backward = backwardMemoryEstimate(c, s.batch, s.window, undefined, limits.maxStorageBufferBindingSize);
  const logitsRows = Math.min(E, Math.floor((256 << 20) / (c.vocabSize * 4)));
  const evaluation = activationBytes(c, E) + 4 * (logitsRows * c.vocabSize + 3 * E) + scratch(E);
  const candidates: [number, string][] = [
    [4 * M * c.hiddenSize, 'a block input of the batch'],
    [4 * M * c.intermediateSize, 'an MLP activation of the batch'],
    [4 * Math.min(M, logitsRows) * c.vocabSize, 'a logits chunk'],
    [4 * Math.max(...shapes.map(([N, K]) => s.r * Math.max(N, K))), 'the largest adapter matrix'],
  ];
  const [largest, largestWhat] = candidates.reduce((a, b) => (b[0] > a[0] ? b : a));
  const loraScratch = scratch(M);
  return { adapterParameters, adapters, backward, loraScratch, evaluation, total: adapters + backward + loraScratch + evaluation, largest, largestWhat };
}

/** The default budget for a run's own buffers: 4 GiB, or 4 x maxBufferSize on devices that allow larger buffers. */
export const defaultHealBudget = (limits: { maxBufferSize: number }) => Math.max(4 * 2 ** 30, 4 * limits.maxBufferSize);

/** Refuses a run whose estimate exceeds the device's binding limit or the budget; the message carries the estimate. */
export function checkHealMemory(e: HealMemoryEstimate, limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }, budgetBytes = defaultHealBudget(limits)): void {
  const parts = `adapters ${mib(e.adapters)} (${e.adapterParameters} parameters with gradients and AdamW moments), backward ${mib(e.backward)}, LoRA scratch ${mib(e.loraScratch)}, evaluation ${mib(e.evaluation)}`;
  const bindable = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (e.largest > bindable) {
    throw new HealMemoryError(`healing refused: ${e.largestWhat} needs ${mib(e.largest)}, more than this device binds (${mib(bindable)}); use fewer sequences per micro-batch or a shorter window (estimate: ${parts})`);
  }
  if (e.total > budgetBytes) {
    throw new HealMemoryError(`healing refused: it needs about ${mib(e.total)} of GPU memory beside the weights, more than the ${mib(budgetBytes)} budget (${parts}); use fewer sequences per micro-batch (more micro-batches), a shorter window or a smaller r, or raise the budget`);
  }
}
