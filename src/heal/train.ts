/**
 * One LoRA optimizer step on the GPU: for each micro-batch, forward + backward with the adapters
 * (src/model/backward.ts), adapter gradients accumulated by the LoRA consumer; then one readback of
 * the micro-batches' losses, and AdamW (torch's update) on every A and B with the gradient scaled by
 * 1 / micro-batches (the mean over the effective batch) and the scheduled learning rate.
 * A non-finite loss stops before the update: the adapters keep the last good values.
 */
import { createStorageBuffer, readF32, writeBuffer } from '../gpu/buffers';
import { withErrorScope } from '../gpu/errors';
import { AdamW, adamWParams, type AdamWHyper } from '../kernels/adamw';
import { backward } from '../model/backward';
import type { LlamaModel } from '../model/model';
import { learningRate } from './schedule';
import type { LoraAdapters, LoraTensor } from './lora';
import type { LinearName } from '../model/backward';

export interface TrainSettings {
  /** Peak learning rate. */
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;

/** [N, T] token ids of one micro-batch; targets [N, T]: 0 = no loss target (prompt, padding), absent = all. */
export interface MicroBatch {
  ids: Uint32Array;
  N: number;
  T: number;
  targets?: Uint8Array;
}

/**
 * The trainer between two optimizer steps, as plain data: the optimizer steps taken and, per adapter
 * (in LoraAdapters order), A and B with their AdamW moments. The schedule, the data order (windows
 * taken in a seeded order, step k after k steps' worth) and the dropout seeds (from the step) all
 * follow from `step`, so restoring this continues the run exactly.
 */
export interface TrainerState {
  step: number;
  adapters: { block: number; name: LinearName; A: AdamTensor; B: AdamTensor }[];
}

/** A trainable tensor's value and AdamW moments, f32. */
export interface AdamTensor {
  value: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly loss: number) {
    super(`healing stopped: the loss at optimizer step ${step + 1} is ${loss}; the adapters keep the values of the last good step`);
    this.name = 'NonFiniteLossError';
  }
}

export class LoraTrainer {
  /** Optimizer steps taken. */
  step = 0;
  private readonly params: GPUBuffer;
  private readonly optimizers: AdamW[];

  constructor(private readonly model: LlamaModel, readonly lora: LoraAdapters, readonly settings: TrainSettings) {
    const rt = model.rt;
    this.params = rt.uniform(adamWParams(this.hyper(0), 1, 1), 'lora.adamw.params');
    this.optimizers = lora.adapters.flatMap((a) => [a.A, a.B]).map((t) => {
      const n = t.rows * t.cols;
      return new AdamW(rt, { n, params: this.params, grad: t.grad, w: t.value, m: t.m, v: t.v });
    });
    const encoder = rt.device.createCommandEncoder({ label: 'lora.zero' });
    lora.zero(encoder, true);
    rt.device.queue.submit([encoder.finish()]);
  }

  private hyper(step: number): AdamWHyper {
    const s = this.settings;
    return { lr: learningRate(s.lr, step, s.warmupSteps, s.totalSteps), beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay };
  }

  /**
   * One optimizer step over `micro` (gradient accumulation); returns the mean of the micro-batches'
   * mean next-token losses. `dropoutSeed(i)` seeds micro-batch i's dropout masks (default: step and i).
   */
  async trainStep(micro: readonly MicroBatch[], dropoutSeed = (i: number) => this.step * 65536 + i): Promise<number> {
    const rt = this.model.rt;
    const dev = rt.device;
    if (micro.length < 1) throw new RangeError('trainStep: need at least one micro-batch');
    const losses = createStorageBuffer(dev, micro.length * 8, 'lora.losses');
    try {
      return await withErrorScope(dev, 'LoRA training step', async () => {
        const zero = dev.createCommandEncoder({ label: 'lora.zero_grad' });
        this.lora.zero(zero);
        dev.queue.submit([zero.finish()]);
        for (let i = 0; i < micro.length; i++) {
          const { ids, N, T, targets } = micro[i]!;
          this.lora.setDropoutSeed(dropoutSeed(i));
          const pass = backward(this.model, ids, N, T, this.lora.consumer(N * T), { plan: this.lora.plan, adapters: this.lora.forShape(N * T), ...(targets ? { targets } : {}) });
          for await (const s of pass) {
            if (s.stage !== 'loss') continue;
            const copy = dev.createCommandEncoder({ label: 'lora.loss_copy' });
            copy.copyBufferToBuffer(s.loss, 0, losses, i * 8, 8);
            dev.queue.submit([copy.finish()]);
          }
        }
        const sums = await readF32(dev, losses, micro.length * 2);
        let loss = 0;
        for (let i = 0; i < micro.length; i++) loss += sums[2 * i]! / sums[2 * i + 1]! / micro.length;
        if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.step, loss);
        this.applyAdamW(1 / micro.length);
        return loss;
      });
    } finally {
      losses.destroy();
    }
  }

  /** AdamW on every adapter tensor with the accumulated gradients (also the golden test's entry point). */
  applyAdamW(gradScale: number): void {
    const dev = this.model.rt.device;
    const t = this.step + 1;
    dev.queue.writeBuffer(this.params, 0, adamWParams(this.hyper(this.step), t, gradScale));
    const encoder = dev.createCommandEncoder({ label: 'lora.adamw' });
    const pass = encoder.beginComputePass();
    for (const op of this.optimizers) op.encode(pass);
    pass.end();
    dev.queue.submit([encoder.finish()]);
    this.step = t;
  }

  /** The state after the last optimizer step, read back in one copy (call between steps). */
  async exportState(): Promise<TrainerState> {
    const dev = this.model.rt.device;
    const tensors = this.lora.adapters.flatMap((a) => [a.A, a.B]);
    const parts: GPUBuffer[] = tensors.flatMap((t) => [t.value, t.m, t.v]);
    const sizes = tensors.flatMap((t) => [t.rows * t.cols, t.rows * t.cols, t.rows * t.cols]);
    const total = sizes.reduce((n, x) => n + x, 0);
    const all = createStorageBuffer(dev, total * 4, 'lora.state');
    try {
      const encoder = dev.createCommandEncoder({ label: 'lora.state' });
      let at = 0;
      parts.forEach((b, i) => {
        encoder.copyBufferToBuffer(b, 0, all, at * 4, sizes[i]! * 4);
        at += sizes[i]!;
      });
      dev.queue.submit([encoder.finish()]);
      const flat = await readF32(dev, all, total);
      let off = 0;
      const take = (t: LoraTensor): AdamTensor => {
        const n = t.rows * t.cols;
        const [value, m, v] = [0, 1, 2].map((k) => flat.slice(off + k * n, off + (k + 1) * n)) as [Float32Array, Float32Array, Float32Array];
        off += 3 * n;
        return { value, m, v };
      };
      return { step: this.step, adapters: this.lora.adapters.map((a) => ({ block: a.block, name: a.name, A: take(a.A), B: take(a.B) })) };
    } finally {
      all.destroy();
    }
  }

  /** Restores a state exported from a trainer of the same plan, targets and r. */
  importState(state: TrainerState): void {
    const ads = this.lora.adapters;
    if (state.adapters.length !== ads.length || state.adapters.some((s, i) => s.block !== ads[i]!.block || s.name !== ads[i]!.name)) {
      throw new Error('trainer state: its adapters are not those of this plan and targets');
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`trainer state: bad step ${state.step}`);
    const dev = this.model.rt.device;
    state.adapters.forEach((s, i) => {
      for (const [t, d] of [[ads[i]!.A, s.A], [ads[i]!.B, s.B]] as const) {
        const n = t.rows * t.cols;
        if (d.value.length !== n || d.m.length !== n || d.v.length !== n) throw new RangeError(`trainer state: ${s.block}.${s.name} has the wrong size (r differs?)`);
        writeBuffer(dev, t.value, d.value);
        writeBuffer(dev, t.m, d.m);
        writeBuffer(dev, t.v, d.v);
      }
    });
    this.step = state.step;
  }

  /** Frees the trainer's own uniforms (the adapters belong to the caller). */
  dispose(): void {
    this.params.destroy();
  }
}
