/**
 * Log-likelihood of continuations on the GPU, each context run once: the context's tokens fill a
 * KV cache (the decode path's cache attention, causal within the chunk) and leave the logits of
 * its last token; every continuation then runs against that cache from position n, so no context
 * token is recomputed per choice. As in lm-eval, the input is (context + continuation)[:-1]: the
 * first continuation token is scored on the context's last logits, and a continuation's last token
 * is never run. Per request only an (NLL sum, count) pair leaves the GPU, copied into a results
 * buffer read once per group of requests. Op sets are built per row count and kept (LRU), since
 * their kernels are specialised to the shape; they reuse the engine's block ops and kernels.
 */
import { createStorageBuffer, readF32, writeBuffer } from '../gpu/buffers';
import { BufferLedger } from '../gpu/ledger';
import type { GpuRuntime } from '../gpu/runtime';
import { KvCache } from '../kernels/attention';
import { StepBuffer, type Encodable } from '../kernels/common';
import { Embedding } from '../kernels/embedding';
import { NllRows, SequenceNll } from '../kernels/loss';
import { createLinear } from '../kernels/matvec';
import { RmsNorm } from '../kernels/rmsnorm';
import { createActivations } from '../model/activations';
import { buildBlockOps } from '../model/block-ops';
import type { LlamaModel } from '../model/model';
import type { BlockPlan } from '../model/plan';

/** Op sets kept per plan; each holds its activations, so the count bounds memory. */
const MAX_OP_SETS = 24;

/** Embedding and the plan's blocks over `rows` tokens continuing the cache at step.pos0. */
function trunkOps(rt: GpuRuntime, model: LlamaModel, plan: BlockPlan, caches: KvCache[], step: StepBuffer, rows: number, ids: GPUBuffer) {
  const c = model.config;
  const w = model.weights;
  const act = createActivations(rt, c, rows, `choices${rows}`);
  const embed = new Embedding(rt, { rows, V: c.vocabSize, dim: c.hiddenSize, dtype: w.embed.dtype, ids, table: w.embed.buffer, y: act.x, scale: c.embedScale ?? 1 });
  const blocks = plan.map((b, slot) => buildBlockOps(rt, c, w.blocks[b]!, act, { B: 1, T: rows, step, cache: caches[slot]! }));
  return { act, ops: [embed, ...blocks.flat()] as Encodable[] };
}

/** A context of `rows` tokens: fills the cache from position 0, leaves its last token's logits in `ctxLogits`. */
class ContextOps {
  readonly ids: GPUBuffer;
  private readonly ops: Encodable[];
  private readonly head: Encodable;
  private readonly x: GPUBuffer;
  private readonly lastRow: GPUBuffer;

  constructor(rt: GpuRuntime, model: LlamaModel, plan: BlockPlan, caches: KvCache[], step: StepBuffer, readonly rows: number, ctxLogits: GPUBuffer) {
    const c = model.config;
    this.ids = createStorageBuffer(rt.device, rows * 4, 'choices.ctx_ids');
    const trunk = trunkOps(rt, model, plan, caches, step, rows, this.ids);
    this.ops = trunk.ops;
    this.x = trunk.act.x;
    this.lastRow = rows === 1 ? trunk.act.x : createStorageBuffer(rt.device, c.hiddenSize * 4, 'choices.last_row');
    const w = model.weights;
    const finalNorm = { weight: w.finalNorm.buffer, dtype: w.finalNorm.dtype, eps: c.rmsNormEps };
    this.head = createLinear(rt, { M: 1, N: c.vocabSize, K: c.hiddenSize, dtype: w.head.dtype, x: this.lastRow, w: w.head.buffer, y: ctxLogits, norm: finalNorm });
  }

  encode(encoder: GPUCommandEncoder, rowBytes: number): void {
    let pass = encoder.beginComputePass();
    for (const op of this.ops) op.encode(pass);
    if (this.lastRow !== this.x) {
      pass.end();
      encoder.copyBufferToBuffer(this.x, (this.rows - 1) * rowBytes, this.lastRow, 0, rowBytes);
      pass = encoder.beginComputePass();
    }
    this.head.encode(pass);
    pass.end();
  }
}

/**
 * A continuation of m tokens: its first m - 1 run from position n (`rows` = m - 1, possibly 0), their
 * logits fill rows 0..m-2 and the context's logits row m-1; labels are tokens 1..m-1, then token 0.
 */
class ContinuationOps {
  readonly ids: GPUBuffer;
  readonly labels: GPUBuffer;
  readonly sum: SequenceNll;
  private readonly ops: Encodable[];
  private readonly nll: NllRows;
  private readonly logits: GPUBuffer;
  private readonly rowLogitsBytes: number;

  constructor(rt: GpuRuntime, model: LlamaModel, plan: BlockPlan, caches: KvCache[], step: StepBuffer, readonly rows: number) {
    const c = model.config;
    const V = c.vocabSize;
    const scored = rows + 1;
    this.rowLogitsBytes = V * 4;
    if (scored * V * 4 > rt.device.limits.maxStorageBufferBindingSize) {
      throw new RangeError(`a continuation of ${scored} tokens needs ${scored * V * 4} bytes of logits, over the adapter's binding limit`);
    }
    this.ids = createStorageBuffer(rt.device, Math.max(1, rows) * 4, 'choices.cont_ids');
    this.labels = createStorageBuffer(rt.device, scored * 4, 'choices.labels');
    this.logits = createStorageBuffer(rt.device, scored * V * 4, 'choices.logits');
    const nll = createStorageBuffer(rt.device, scored * 4, 'choices.nll');
    const w = model.weights;
    const ops: Encodable[] = [];
    if (rows > 0) {
      const trunk = trunkOps(rt, model, plan, caches, step, rows, this.ids);
      ops.push(
        ...trunk.ops,
        new RmsNorm(rt, { rows, dim: c.hiddenSize, eps: c.rmsNormEps, weightF16: w.finalNorm.dtype === 'f16', x: trunk.act.x, w: w.finalNorm.buffer, y: trunk.act.xn }),
        createLinear(rt, { M: rows, N: V, K: c.hiddenSize, dtype: w.head.dtype, x: trunk.act.xn, w: w.head.buffer, y: this.logits }),
      );
    }
    this.ops = ops;
    this.nll = new NllRows(rt, { rows: scored, V, logits: this.logits, labels: this.labels, nll });
    this.sum = new SequenceNll(rt, { B: 1, T: scored, V, labels: this.labels, nll });
  }

  encode(encoder: GPUCommandEncoder, ctxLogits: GPUBuffer): void {
    if (this.ops.length > 0) {
      const pass = encoder.beginComputePass();
      for (const op of this.ops) op.encode(pass);
      pass.end();
    }
    encoder.copyBufferToBuffer(ctxLogits, 0, this.logits, this.rows * this.rowLogitsBytes, this.rowLogitsBytes);
    const pass = encoder.beginComputePass();
    this.nll.encode(pass);
    this.sum.encode(pass);
    pass.end();
  }
}

/** One scoring request group: a context and the continuations scored against it. */
export interface ContextGroup {
  context: readonly number[];
  continuations: readonly (readonly number[])[];
}

export class ChoiceForward {
  private readonly rt: GpuRuntime;
  private readonly step: StepBuffer;
  private readonly ctxLogits: GPUBuffer;
  private caches: KvCache[] = [];
  private cacheLen = 0;
  private planKey = '';
  private plan: BlockPlan = [];
  private readonly opSets = new Map<string, { ledger: BufferLedger; ops: ContextOps | ContinuationOps }>();
  /** Tokens run through the trunk so far (for the efficiency figure: contexts once, continuations minus their last token). */
  tokensRun = 0;

  constructor(private readonly model: LlamaModel) {
    this.rt = model.rt;
    this.step = new StepBuffer(this.rt, 0);
    this.ctxLogits = createStorageBuffer(this.rt.device, model.config.vocabSize * 4, 'choices.ctx_logits');
  }

  /** Selects the blocks to run (op sets are rebuilt for a new plan). */
  setPlan(plan: BlockPlan): void {
    const key = plan.join(',');
    if (key === this.planKey) return;
    this.clearOpSets();
    this.planKey = key;
    this.plan = [...plan];
  }

  /**
   * Makes room for `len` cached positions: caches for every block (op sets bind them, so they go too).
   * Reserve the longest request of a run before queuing it, so no queued work's cache is replaced.
   */
  reserve(len: number): void {
    if (len <= this.cacheLen) return;
    const c = this.model.config;
    if (len > c.maxPositionEmbeddings) throw new RangeError(`${len} tokens exceed the model's max_position_embeddings (${c.maxPositionEmbeddings})`);
    this.clearOpSets();
    this.destroyCaches();
    const maxLen = Math.max(len, Math.min(c.maxPositionEmbeddings, 2 * this.cacheLen, 512));
    const bytes = maxLen * c.numKvHeads * c.headDim * 4;
    if (bytes > this.rt.device.limits.maxStorageBufferBindingSize) throw new RangeError(`a KV cache of ${maxLen} tokens is over the adapter's binding limit`);
    this.caches = Array.from({ length: c.numLayers }, () => new KvCache(this.rt, 1, c.numKvHeads, c.headDim, maxLen));
    this.cacheLen = maxLen;
  }

  private opSet<T extends ContextOps | ContinuationOps>(key: string, build: () => T): T {
    const hit = this.opSets.get(key);
    if (hit) {
      this.opSets.delete(key);
      this.opSets.set(key, hit);
      return hit.ops as T;
    }
    if (this.opSets.size >= MAX_OP_SETS) {
      const [oldest, entry] = this.opSets.entries().next().value!;
      entry.ledger.freeAll();
      this.opSets.delete(oldest);
    }
    const ledger = new BufferLedger(this.rt.device);
    const ops = ledger.track(build);
    this.opSets.set(key, { ledger, ops });
    return ops;
  }

  /**
   * Queues every continuation of a group; each (NLL sum, count) pair lands in `results` at
   * slot0, slot0 + 1, ... (8 bytes a slot). Nothing is read back here.
   */
  encodeGroup(g: ContextGroup, results: GPUBuffer, slot0: number): void {
    const n = g.context.length;
    if (n === 0) throw new RangeError('an empty context (the caller substitutes EOS, as lm-eval does)');
    const longest = Math.max(...g.continuations.map((c) => c.length));
    this.reserve(n + longest - 1);
    const dev = this.rt.device;
    const rowBytes = this.model.config.hiddenSize * 4;
    const ctx = this.opSet(`c${n}`, () => new ContextOps(this.rt, this.model, this.plan, this.caches, this.step, n, this.ctxLogits));
    this.step.set(0);
    writeBuffer(dev, ctx.ids, Uint32Array.from(g.context));
    let encoder = dev.createCommandEncoder({ label: 'choices.context' });
    ctx.encode(encoder, rowBytes);
    dev.queue.submit([encoder.finish()]);
    this.tokensRun += n;
    g.continuations.forEach((cont, i) => {
      if (cont.length === 0) throw new RangeError('an empty continuation');
      const rows = cont.length - 1;
      const ops = this.opSet(`k${rows}`, () => new ContinuationOps(this.rt, this.model, this.plan, this.caches, this.step, rows));
      this.step.set(n);
      if (rows > 0) writeBuffer(dev, ops.ids, Uint32Array.from(cont.slice(0, rows)));
      writeBuffer(dev, ops.labels, Uint32Array.from([...cont.slice(1), cont[0]!]));
      encoder = dev.createCommandEncoder({ label: 'choices.continuation' });
      ops.encode(encoder, this.ctxLogits);
      encoder.copyBufferToBuffer(ops.sum.out, 0, results, (slot0 + i) * 8, 8);
      dev.queue.submit([encoder.finish()]);
      this.tokensRun += rows;
    });
  }

  /** A results buffer for `slots` continuations. */
  resultsBuffer(slots: number): GPUBuffer {
    return createStorageBuffer(this.rt.device, slots * 8, 'choices.results');
  }

  /** Log-likelihoods (minus the NLL sums) of `slots` results; also checks every token was scored. */
  async readResults(results: GPUBuffer, slots: number, expectedCounts: readonly number[]): Promise<Float64Array> {
    const raw = await readF32(this.rt.device, results, 2 * slots);
    const ll = new Float64Array(slots);
    for (let s = 0; s < slots; s++) {
      if (raw[2 * s + 1] !== expectedCounts[s]) throw new Error(`scored ${raw[2 * s + 1]} of ${expectedCounts[s]} continuation tokens (a token id outside the vocabulary?)`);
      ll[s] = -raw[2 * s]!;
    }
    return ll;
  }

  private clearOpSets(): void {
    for (const { ledger } of this.opSets.values()) ledger.freeAll();
    this.opSets.clear();
  }

  private destroyCaches(): void {
    for (const c of this.caches) {
      c.k.destroy();
      c.v.destroy();
    }
    this.caches = [];
    this.cacheLen = 0;
  }

  destroy(): void {
    this.clearOpSets();
    this.destroyCaches();
    this.ctxLogits.destroy();
    this.step.buffer.destroy();
  }
}
