/** The Heal panel's presets: defaults for the embedded model, and the seed's recipe. */
import type { HealSettings } from '../heal/run';

/** The engine's HEAL_DEFAULTS (src/heal/run.ts, checked equal by a test; kept here so the page does not bundle the trainer): minutes on a software adapter. */
export const EMBEDDED_HEAL: HealSettings & { epochs: number; heldoutWindows: number } = {
  r: 8, alpha: 16, dropout: 0.05, lr: 1e-3, warmupSteps: 5, steps: 50, batch: 4, micro: 1, window: 64, seed: 0, epochs: 0, heldoutWindows: 8,
};

/**
 * The seed's recipe: r 8, alpha 16, dropout 0.05, lr 1e-4, 100 warm-up steps, effective batch 64 = micro-batch 4 x
 * accumulation 16, sequences of 256 tokens, 2 epochs.
 */
export const SEED_HEAL: HealSettings & { epochs: number } = {
  r: 8, alpha: 16, dropout: 0.05, lr: 1e-4, warmupSteps: 100, steps: 0, batch: 4, micro: 16, window: 256, seed: 0, epochs: 2,
};
