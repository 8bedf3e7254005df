/**
 * A LLaMA on the GPU: every weight once, and the forward machinery (batched scoring passes by
 * shape, a batch-1 decode state) that runs any block plan over them.
 */
import type { GpuRuntime } from '../gpu/runtime';
import type { ModelConfig } from '../io/config';
import type { LoadedCheckpoint } from '../io/load';
import { BatchForward, type NllResult } from './batch-forward';
import { DecodeState } from './decode';
import { fullPlan, validatePlan, type BlockPlan } from './plan';
import { groupWeights, type ModelWeights } from './weights';

export class LlamaModel {
  readonly config: ModelConfig;
  readonly weights: ModelWeights;
  private readonly batches = new Map<string, BatchForward>();
  private decodeState: DecodeState | undefined;

  constructor(readonly rt: GpuRuntime, readonly checkpoint: LoadedCheckpoint) {
    this.config = checkpoint.config;
    this.weights = groupWeights(checkpoint, rt);
  }

  get numLayers(): number {
    return this.config.numLayers;
  }

  fullPlan(): number[] {
    return fullPlan(this.numLayers);
  }

  /**
   * The batched forward for B x T (kept for reuse; one shape at a time besides the current one,
   * since each holds its activations).
   */
  batch(B: number, T: number): BatchForward {
    const key = `${B}x${T}`;
    let batch = this.batches.get(key);
    if (!batch) {
      for (const [k, b] of this.batches) {
        if (this.batches.size < 2) break;
        b.destroy();
        this.batches.delete(k);
      }
      batch = new BatchForward(this.rt, this.config, this.weights, B, T);
      this.batches.set(key, batch);
    }
    return batch;
  }

  /** Per-sequence NLL sums of [B, T] token ids under a plan. */
  async nll(ids: Uint32Array, B: number, T: number, plan: BlockPlan = this.fullPlan()): Promise<NllResult> {
    validatePlan(plan, this.numLayers);
    const batch = this.batch(B, T);
    batch.setTokens(ids);
    return batch.run({ plan });
  }

  /** The batch-1 decode state with room for `maxLen` tokens (reallocated only when it must grow). */
  decoder(maxLen: number): DecodeState {
    if (!this.decodeState || this.decodeState.maxLen < maxLen) {
      this.decodeState?.destroy();
      this.decodeState = new DecodeState(this.rt, this.config, this.weights, maxLen);
    }
    return this.decodeState;
  }

  dispose(): void {
    for (const b of this.batches.values()) b.destroy();
    this.batches.clear();
    this.decodeState?.destroy();
    this.decodeState = undefined;
    for (const b of this.weights.derived) b.destroy();
    this.checkpoint.dispose();
  }
}
