/**
 * Batch-1 generation state: a KV cache per active block (sized for the plan and the context),
 * op sets for a prompt of P tokens and for single-token steps, and the head producing logits.
 * Op sets are built per block plan and reused; weights are only ever bound, never copied.
 * With adapters (LoRA, unmerged), every block runs the adapter-aware forward of block-ops.ts.
 */
import { createStorageBuffer, readF32, writeBuffer } from '../gpu/buffers';
import { BufferLedger } from '../gpu/ledger';
import type { GpuRuntime } from '../gpu/runtime';
import type { ModelConfig } from '../io/config';
import { KvCache } from '../kernels/attention';
import { encodeAll, recordDispatches, StepBuffer, type Dispatch, type Encodable } from '../kernels/common';
import { Embedding } from '../kernels/embedding';
import { createLinear } from '../kernels/matvec';
import { createActivations, type Activations } from './activations';
import { buildBlockOps, type BlockAdapter } from './block-ops';
import type { BlockPlan } from './plan';
import type { ModelWeights } from './weights';

export class ContextLengthError extends RangeError {
  override name = 'ContextLengthError';
}

/**
 * Adapters for the decode shapes: the per-block hook for `rows` tokens at a time (LoraAdapters.forShape
 * of an inference-mode LoraAdapters). Its scratch buffers belong to the adapters, not to the op sets.
 */
export type DecodeAdapters = (rows: number) => (block: number) => BlockAdapter | undefined;

/** What a step may add to its own command buffer, so that one step is one submit and one map. */
export interface StepExtras {
  /** Encoded in the head's pass (token selection on the logits), then its readback copies. */
  select?: Encodable & { encodeReadback(encoder: GPUCommandEncoder): void };
  /** GPU timestamps around the step's passes. */
  timestampWrites?: GPUComputePassTimestampWrites;
}

/**
 * Ops for `rows` tokens continuing at step.pos0: embedding, the plan's blocks, then the head (final
 * norm fused in) on the last row. Every buffer they allocate (activations, and the kernels' own
 * uniforms and partials) is in their ledger, so a plan change frees it at once instead of leaving
 * it to garbage collection while the user toggles blocks.
 */
class TokenOps {
  readonly act: Activations;
  private readonly ledger: BufferLedger;
  /** The embedding's and blocks' dispatches, then the head's, flattened once (see recordDispatches). */
  private readonly body: Dispatch[];
  private readonly lastRow: GPUBuffer;
  private readonly head: Dispatch[];
  private readonly rowBytes: number;
  /** u32 [rows], the tokens the ops embed. */
  readonly ids: GPUBuffer;
  /** Dispatches one encode records (embedding, blocks, head; token selection not included). */
  readonly dispatches: number;

  /** `ids`: where the tokens are (a prompt's ops allocate their own). */
  constructor(
    rt: GpuRuntime, c: ModelConfig, w: ModelWeights, plan: BlockPlan, caches: KvCache[], step: StepBuffer, readonly rows: number, logits: GPUBuffer,
    ids?: GPUBuffer, adapters?: DecodeAdapters,
  ) {
    this.ledger = new BufferLedger(rt.device);
    const adapter = adapters?.(rows); // outside the ledger: the adapters own their scratch
    const built = this.ledger.track(() => {
      ids ??= createStorageBuffer(rt.device, rows * 4, 'decode.prompt_ids');
      const act = createActivations(rt, c, rows, `decode${rows}`);
      const embed = new Embedding(rt, { rows, V: c.vocabSize, dim: c.hiddenSize, dtype: w.embed.dtype, ids, table: w.embed.buffer, y: act.x, scale: c.embedScale ?? 1 });
      const blocks = plan.map((b, slot) => buildBlockOps(rt, c, w.blocks[b]!, act, { B: 1, T: rows, step, cache: caches[slot]!, adapter: adapter?.(b) }));
      // Only the last row's logits are needed: the head matvec normalises and projects that row.
      const lastRow = rows === 1 ? act.x : createStorageBuffer(rt.device, c.hiddenSize * 4, 'decode.last_row');
      const finalNorm = { weight: w.finalNorm.buffer, dtype: w.finalNorm.dtype, eps: c.rmsNormEps };
      const head = createLinear(rt, { M: 1, N: c.vocabSize, K: c.hiddenSize, dtype: w.head.dtype, x: lastRow, w: w.head.buffer, y: logits, norm: finalNorm });
      return { ids, act, ops: [embed, ...blocks.flat()], lastRow, head };
    });
    this.ids = built.ids;
    this.act = built.act;
    this.body = recordDispatches(built.ops);
    this.lastRow = built.lastRow;
    this.head = recordDispatches([built.head]);
    this.rowBytes = c.hiddenSize * 4;
    this.dispatches = this.body.length + this.head.length;
  }

  /** One compute pass for a single token (WebGPU orders the dispatches inside it); a prompt needs a
   * second pass for the head because its last row is copied out first. */
  encode(encoder: GPUCommandEncoder, extras: StepExtras = {}): void {
    const ts = extras.timestampWrites;
    const single = this.lastRow === this.act.x;
    let pass = encoder.beginComputePass(ts ? { timestampWrites: single ? ts : { querySet: ts.querySet, beginningOfPassWriteIndex: ts.beginningOfPassWriteIndex } } : undefined);
    encodeAll(pass, this.body);
    if (!single) {
      pass.end();
      encoder.copyBufferToBuffer(this.act.x, (this.rows - 1) * this.rowBytes, this.lastRow, 0, this.rowBytes);
      pass = encoder.beginComputePass(ts ? { timestampWrites: { querySet: ts.querySet, endOfPassWriteIndex: ts.endOfPassWriteIndex } } : undefined);
    }
    encodeAll(pass, this.head);
    extras.select?.encode(pass);
    pass.end();
    extras.select?.encodeReadback(encoder);
  }

  destroy(): void {
    this.ledger.freeAll();
  }
}

export class DecodeState {
  readonly logits: GPUBuffer;
  /** u32 [1]: the token a single step embeds. A step's token selection may write it on the GPU (appendSelected). */
  readonly nextToken: GPUBuffer;
  private readonly step: StepBuffer;
  private caches: KvCache[] = [];
  private stepOps: TokenOps | undefined;
  private promptOps: TokenOps | undefined;
  private planKey = '';
  private adapters: DecodeAdapters | undefined;
  /** Tokens currently in the cache. */
  position = 0;
  /** Host milliseconds spent encoding and submitting steps so far (the CPU side of a step), and the submits' share. */
  hostMs = 0;
  submitMs = 0;

  constructor(
    private readonly rt: GpuRuntime,
    readonly config: ModelConfig,
    private readonly weights: ModelWeights,
    readonly maxLen: number,
  ) {
    const limit = config.maxPositionEmbeddings;
    if (maxLen > limit) throw new ContextLengthError(`context of ${maxLen} tokens exceeds the model's max_position_embeddings (${limit})`);
    const cacheBytes = maxLen * config.numKvHeads * config.headDim * 4;
    if (cacheBytes > rt.device.limits.maxStorageBufferBindingSize) {
      throw new ContextLengthError(`a KV cache of ${maxLen} tokens needs ${cacheBytes} bytes per layer, over the adapter's binding limit`);
    }
    this.logits = createStorageBuffer(rt.device, config.vocabSize * 4, 'decode.logits');
    this.nextToken = createStorageBuffer(rt.device, 4, 'decode.next_token');
    this.step = new StepBuffer(rt, 0);
  }

  /** Selects the blocks to run (and the adapters, if any); caches are sized for the plan (reallocated only when it grows). */
  setPlan(plan: BlockPlan, adapters?: DecodeAdapters): void {
    const key = plan.join(',');
    if (key === this.planKey && adapters === this.adapters) return;
    this.planKey = key;
    this.adapters = adapters;
    while (this.caches.length < plan.length) {
      this.caches.push(new KvCache(this.rt, 1, this.config.numKvHeads, this.config.headDim, this.maxLen));
    }
    this.stepOps?.destroy();
    this.promptOps?.destroy();
    this.stepOps = new TokenOps(this.rt, this.config, this.weights, plan, this.caches, this.step, 1, this.logits, this.nextToken, adapters);
    this.promptOps = undefined;
    this.plan = [...plan];
    this.position = 0;
  }

  private plan: number[] = [];

  /** Dispatches of one decode step under the current plan (without token selection). */
  get dispatchesPerStep(): number {
    if (!this.stepOps) throw new Error('setPlan() before counting dispatches');
    return this.stepOps.dispatches;
  }

  /** Clears the cache and runs the prompt; the logits of its last token are then in `logits`. */
  prefill(ids: ArrayLike<number>, extras?: StepExtras): void {
    if (ids.length === 0) throw new RangeError('the prompt is empty');
    if (ids.length > this.maxLen) throw new ContextLengthError(`prompt of ${ids.length} tokens exceeds the context of ${this.maxLen}`);
    if (!this.stepOps) throw new Error('setPlan() before prefill');
    let ops = this.stepOps;
    if (ids.length > 1) {
      if (this.promptOps?.rows !== ids.length) {
        this.promptOps?.destroy();
        this.promptOps = new TokenOps(this.rt, this.config, this.weights, this.plan, this.caches, this.step, ids.length, this.logits, undefined, this.adapters);
      }
      ops = this.promptOps;
    }
    this.position = 0;
    writeBuffer(this.rt.device, ops.ids, Uint32Array.from(ids));
    this.run(ops, extras);
  }

  /** Appends one token; the logits of the next position are then in `logits`. */
  append(token: number, extras?: StepExtras): void {
    writeBuffer(this.rt.device, this.nextToken, Uint32Array.of(token));
    this.appendSelected(extras);
  }

  /**
   * Appends the token in `nextToken`, as written on the GPU by the previous step's selection: the
   * step can be submitted before that token is known to the host.
   */
  appendSelected(extras?: StepExtras): void {
    if (!this.stepOps) throw new Error('setPlan() before decoding');
    if (this.position >= this.maxLen) throw new ContextLengthError(`the context of ${this.maxLen} tokens is full`);
    this.run(this.stepOps, extras);
  }

  private run(ops: TokenOps, extras?: StepExtras): void {
    const t0 = performance.now();
    this.step.set(this.position);
    const encoder = this.rt.device.createCommandEncoder({ label: 'decode' });
    ops.encode(encoder, extras);
    const commands = encoder.finish();
    const t1 = performance.now();
    this.rt.device.queue.submit([commands]);
    const t2 = performance.now();
    this.position += ops.rows;
    this.hostMs += t2 - t0;
    this.submitMs += t2 - t1;
  }

  readLogits(): Promise<Float32Array> {
    return readF32(this.rt.device, this.logits, this.config.vocabSize);
  }

  destroy(): void {
    this.stepOps?.destroy();
    this.promptOps?.destroy();
    this.nextToken.destroy();
    this.step.buffer.destroy();
    for (const c of this.caches) {
      c.k.destroy();
      c.v.destroy();
    }
    this.logits.destroy();
  }
}
