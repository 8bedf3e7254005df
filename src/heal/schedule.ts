/**
 * The learning rate at optimizer step `step` (0-based): transformers' get_linear_schedule_with_warmup
 * (the seed's recipe), stepped after each optimizer step as the Trainer does: step / warmup during
 * warm-up (so the first step has rate 0 when warmup > 0), then a linear decay to 0 at totalSteps.
 */
export function learningRate(peak: number, step: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
  return peak * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}
