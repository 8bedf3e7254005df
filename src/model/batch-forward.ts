/**
 * Batched forward over B sequences of T tokens (calibration, perplexity windows), prepared once
 * per shape with the ops of EVERY block, so running any block plan only changes which ops are
 * encoded. Reads back per-sequence NLL sums, never the logits (unless a test asks for rows).
 */
import { createStorageBuffer, readF32, writeBuffer } from '../gpu/buffers';
import { BufferLedger } from '../gpu/ledger';
import type { GpuRuntime } from '../gpu/runtime';
import type { ModelConfig } from '../io/config';
import { StepBuffer, type Encodable } from '../kernels/common';
import { Embedding } from '../kernels/embedding';
import { IGNORE_LABEL, NllRows, SequenceNll } from '../kernels/loss';
import { createLinear } from '../kernels/matvec';
import { RmsNorm } from '../kernels/rmsnorm';
import { createActivations, type Activations } from './activations';
import { buildBlockOps, type BlockAdapter } from './block-ops';
import type { BlockPlan } from './plan';
import type { ModelWeights } from './weights';

/** Logits rows computed per head dispatch: bounds the [rows, V] logits buffer (Llama 3: V = 128256). */
const LOGITS_BUDGET_BYTES = 256 << 20;

export interface RunOptions {
  /** Blocks to run, in order (original indices). */
  plan: BlockPlan;
  /** Start from this residual stream [rows, hidden] instead of the embeddings. */
  from?: GPUBuffer;
  /**
   * Copy the residual stream into captures[j] before plan[j] runs, and into captures[plan.length]
   * after the last block (before the final norm). Entries may be undefined to skip.
   */
  captures?: (GPUBuffer | undefined)[];
  /** Skip the head and loss (when only captures are wanted). */
  skipHead?: boolean;
}

export interface NllResult {
  /** Per-sequence NLL sums and predicted-token counts. */
  sums: Float64Array;
  counts: Float64Array;
}

interface HeadChunks {
  xnChunk: GPUBuffer | undefined;
  logits: GPUBuffer;
  chunks: { row0: number; rows: number; ops: Encodable[] }[];
}

export class BatchForward {
  readonly rows: number;
  readonly ids: GPUBuffer;
  readonly labels: GPUBuffer;
  readonly act: Activations;
  private readonly ledger: BufferLedger;
  private readonly embed: Embedding;
  private readonly blocks: Encodable[][];
  private readonly finalNorm: RmsNorm;
  /** The LM head in row chunks, built on first use (a Taylor pass never runs it). */
  private head: HeadChunks | undefined;
  private readonly nll: GPUBuffer;
  private readonly seq: SequenceNll;
  private hasTokens = false;

  constructor(
    private readonly rt: GpuRuntime,
    readonly config: ModelConfig,
    private readonly weights: ModelWeights,
    readonly B: number,
    readonly T: number,
    /** Adapters added to the blocks' linear layers (LoRA), by original block index. */
    adapters?: (block: number) => BlockAdapter | undefined,
  ) {
    const c = config;
    const R = (this.rows = B * T);
    const dev = rt.device;
    this.ledger = new BufferLedger(dev);
    const built = this.ledger.track(() => {
      const ids = createStorageBuffer(dev, R * 4, 'batch.ids');
      const labels = createStorageBuffer(dev, R * 4, 'batch.labels');
      const act = createActivations(rt, c, R, 'batch', true);
      const step = new StepBuffer(rt, 0);
      const embed = new Embedding(rt, {
        rows: R, V: c.vocabSize, dim: c.hiddenSize, dtype: weights.embed.dtype, ids, table: weights.embed.buffer, y: act.x, scale: c.embedScale ?? 1,
      });
      const blocks = weights.blocks.map((w, i) => buildBlockOps(rt, c, w, act, { B, T, step, adapter: adapters?.(i) }));
      const finalNorm = new RmsNorm(rt, {
        rows: R, dim: c.hiddenSize, eps: c.rmsNormEps, weightF16: weights.finalNorm.dtype === 'f16',
        x: act.x, w: weights.finalNorm.buffer, y: act.xn,
      });
      const nll = createStorageBuffer(dev, R * 4, 'batch.nll');
      const seq = new SequenceNll(rt, { B, T, V: c.vocabSize, labels, nll });
      return { ids, labels, act, embed, blocks, finalNorm, nll, seq };
    });
    ({ ids: this.ids, labels: this.labels, act: this.act, embed: this.embed, blocks: this.blocks, finalNorm: this.finalNorm, nll: this.nll, seq: this.seq } = built);
  }

  private headChunks(): HeadChunks {
    this.head ??= this.ledger.track(() => this.buildHead());
    return this.head;
  }

  private buildHead(): HeadChunks {
    const { rt, config: c, weights, rows: R } = this;
    const chunkRows = Math.max(1, Math.min(R, Math.floor(LOGITS_BUDGET_BYTES / (c.vocabSize * 4))));
    const xnChunk = chunkRows < R ? createStorageBuffer(rt.device, chunkRows * c.hiddenSize * 4, 'batch.xn_chunk') : undefined;
    const logits = createStorageBuffer(rt.device, chunkRows * c.vocabSize * 4, 'batch.logits');
    const chunks = [];
    for (let row0 = 0; row0 < R; row0 += chunkRows) {
      const rows = Math.min(chunkRows, R - row0);
      chunks.push({
        row0,
        rows,
        ops: [
          createLinear(rt, { M: rows, N: c.vocabSize, K: c.hiddenSize, dtype: weights.head.dtype, x: xnChunk ?? this.act.xn, w: weights.head.buffer, y: logits }),
          new NllRows(rt, { rows, V: c.vocabSize, logits, labels: this.labels, nll: this.nll, rowOffset: row0 }),
        ],
      });
    }
    return { xnChunk, logits, chunks };
  }

  /**
   * Uploads [B, T] token ids; labels are the next token within each sequence. With `targets`, a token
   * whose target is 0 is no label (as transformers' -100: prompt tokens, padding); loss and NLL count only labels.
   */
  setTokens(ids: Uint32Array, targets?: Uint8Array): void {
    if (ids.length !== this.rows) throw new RangeError(`expected ${this.rows} token ids (${this.B} x ${this.T}), got ${ids.length}`);
    if (targets && targets.length !== this.rows) throw new RangeError(`expected ${this.rows} loss targets, got ${targets.length}`);
    const labels = new Uint32Array(this.rows);
    for (let r = 0; r < this.rows; r++) labels[r] = (r + 1) % this.T === 0 || (targets && !targets[r + 1]) ? IGNORE_LABEL : ids[r + 1]!;
    writeBuffer(this.rt.device, this.ids, ids);
    writeBuffer(this.rt.device, this.labels, labels);
    this.hasTokens = true;
  }

  /** Encodes and submits one forward pass; returns once it is queued. */
  submit(o: RunOptions): void {
    if (!this.hasTokens) throw new Error('setTokens() before running the batch');
    const dev = this.rt.device;
    const encoder = dev.createCommandEncoder({ label: 'batch.forward' });
    const residualBytes = this.rows * this.config.hiddenSize * 4;
    const capture = (j: number) => {
      const target = o.captures?.[j];
      if (target) encoder.copyBufferToBuffer(this.act.x, 0, target, 0, residualBytes);
    };
    if (o.from) encoder.copyBufferToBuffer(o.from, 0, this.act.x, 0, residualBytes);
    else this.inPass(encoder, (p) => this.embed.encode(p));
    o.plan.forEach((block, j) => {
      capture(j);
      const ops = this.blocks[block];
      if (!ops) throw new RangeError(`no block ${block}`);
      this.inPass(encoder, (p) => ops.forEach((op) => op.encode(p)));
    });
    capture(o.plan.length);
    if (!o.skipHead) {
      this.inPass(encoder, (p) => this.finalNorm.encode(p));
      const rowBytes = this.config.hiddenSize * 4;
      const { xnChunk, chunks } = this.headChunks();
      for (const chunk of chunks) {
        if (xnChunk) encoder.copyBufferToBuffer(this.act.xn, chunk.row0 * rowBytes, xnChunk, 0, chunk.rows * rowBytes);
        this.inPass(encoder, (p) => chunk.ops.forEach((op) => op.encode(p)));
      }
      this.inPass(encoder, (p) => this.seq.encode(p));
    }
    dev.queue.submit([encoder.finish()]);
  }

  /** Runs the plan and reads back the per-sequence NLL sums. */
  async run(o: RunOptions): Promise<NllResult> {
    this.submit(o);
    return this.seq.read();
  }

  /** Logits of the given rows after run() (only when all logits fit one head chunk). */
  async logitsRows(rows: number[]): Promise<Float32Array[]> {
    if (!this.head) throw new Error('run() the head before reading logits');
    if (this.head.chunks.length !== 1) throw new Error('logits are not kept when the head runs in row chunks');
    const V = this.config.vocabSize;
    const logits = this.head.logits;
    return Promise.all(rows.map((r) => readF32(this.rt.device, logits, V, r * V * 4)));
  }

  private inPass(encoder: GPUCommandEncoder, body: (pass: GPUComputePassEncoder) => void): void {
    const pass = encoder.beginComputePass();
    body(pass);
    pass.end();
  }

  /** Frees every buffer the pass allocated, the kernels' own included. */
  destroy(): void {
    this.ledger.freeAll();
  }
}
