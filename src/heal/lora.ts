/**
 * LoRA adapters on the GPU (PEFT's LoraLayer for nn.Linear): for each target linear y = x W^T of each
 * kept block, A [r, in] and B [out, r] in f32 and y += (alpha / r) * dropout(x) A^T B^T.
 * - Forward: a BlockAdapter for the one block forward (src/model/block-ops.ts): u = s * x_d A^T with
 *   x_d = dropout(x) drawn in the kernel (src/kernels/lora.ts), then y += u B^T, right after the frozen layer.
 * - Backward: a GradientConsumer (src/model/backward.ts); per layer, with u recomputed (same mask):
 *     dB += dy^T u;  du = s * dy B;  dA += du^T x_d;  dx += mask(du A)
 *   Gradients accumulate across micro-batches until zeroGrads.
 * Dropout masks come from (seed uniform, per-layer salt, element index): the trainer rewrites the seed
 * per micro-batch, so the backward's recompute regenerates the forward's mask.
 * Init as PEFT: A Kaiming-uniform (a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))) drawn from mulberry32(seed)
 * in plan order, targets in LORA_TARGETS order, row-major; B zero.
 */
import { createStorageBuffer, readF32, writeBuffer } from '../gpu/buffers';
import type { GpuRuntime } from '../gpu/runtime';
import type { ModelConfig } from '../io/config';
import { loraBackward, loraDown, type LoraLayerArgs } from '../kernels/lora';
import { createLinear } from '../kernels/matvec';
import type { GradientConsumer, LinearName } from '../model/backward';
import type { BlockAdapter, LinearIo } from '../model/block-ops';
import type { BlockPlan } from '../model/plan';
import { mulberry32 } from '../util/random';

/** PEFT's target order and module names. */
export const LORA_TARGETS: readonly LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

export interface LoraSettings {
  r: number;
  alpha: number;
  /** Dropout probability on the adapter input, in [0, 1). */
  dropout: number;
  /** Seed of A's initialisation. */
  seed: number;
  targets?: readonly LinearName[];
}

/** One f32 trainable tensor with its gradient and AdamW moments. */
export interface LoraTensor {
  rows: number;
  cols: number;
  value: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
}

export interface LinearAdapter {
  block: number;
  name: LinearName;
  /** Output and input features of the layer. */
  N: number;
  K: number;
  A: LoraTensor;
  B: LoraTensor;
  /** Tells the layers' dropout masks apart. */
  salt: number;
}

/** [out, in] of a block's linear layer. */
export function linearShape(c: ModelConfig, name: LinearName): [number, number] {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  return { q: [qd, H], k: [kvd, H], v: [kvd, H], o: [H, qd], gate: [I, H], up: [I, H], down: [H, I] }[name] as [number, number];
}

const key = (block: number, name: LinearName) => `${block}.${name}`;

interface Scratch {
  u: GPUBuffer;
  du: GPUBuffer;
  mlp: { gate: GPUBuffer; up: GPUBuffer };
}

export class LoraAdapters {
  /** alpha / r. */
  readonly scale: number;
  readonly adapters: LinearAdapter[];
  /** 16-byte uniform: word 0 is the dropout seed of the current micro-batch. */
  readonly seed: GPUBuffer;
  private readonly byKey = new Map<string, LinearAdapter>();
  private readonly owned: GPUBuffer[] = [];
  private readonly shapes = new Map<number, (block: number) => BlockAdapter | undefined>();
  private readonly scratchByRows = new Map<number, Scratch>();

  constructor(
    private readonly rt: GpuRuntime,
    readonly config: ModelConfig,
    readonly plan: BlockPlan,
    readonly settings: LoraSettings,
  ) {
    const { r, alpha, dropout } = settings;
    if (!Number.isInteger(r) || r < 1) throw new RangeError(`LoRA: r must be a positive integer, got ${r}`);
    if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`LoRA: dropout must be in [0, 1), got ${dropout}`);
    this.scale = alpha / r;
    const dev = rt.device;
    this.seed = dev.createBuffer({ label: 'lora.seed', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.owned.push(this.seed);
    const rand = mulberry32(settings.seed);
    const targets = settings.targets ?? LORA_TARGETS;
    this.adapters = [];
    for (const block of plan) {
      for (const name of targets) {
        const [N, K] = linearShape(config, name);
        const bound = 1 / Math.sqrt(K);
        const a = new Float32Array(r * K);
        for (let i = 0; i < a.length; i++) a[i] = (rand() * 2 - 1) * bound;
        const ad: LinearAdapter = {
          block, name, N, K,
          A: this.tensor(r, K, `lora.${block}.${name}.A`, a),
          B: this.tensor(N, r, `lora.${block}.${name}.B`),
          salt: Math.imul(block * 8 + LORA_TARGETS.indexOf(name) + 1, 0x9e3779b9) >>> 0,
        };
        this.adapters.push(ad);
        this.byKey.set(key(block, name), ad);
      }
    }
    this.setDropoutSeed(0);
  }

  private tensor(rows: number, cols: number, label: string, init?: Float32Array): LoraTensor {
    const f32 = (suffix: string) => {
      const b = createStorageBuffer(this.rt.device, rows * cols * 4, `${label}.${suffix}`);
      this.owned.push(b);
      return b;
    };
    const t = { rows, cols, value: f32('value'), grad: f32('grad'), m: f32('m'), v: f32('v') };
    if (init) writeBuffer(this.rt.device, t.value, init);
    return t;
  }

  get(block: number, name: LinearName): LinearAdapter | undefined {
    return this.byKey.get(key(block, name));
  }

  /** Trainable parameter count. */
  get parameterCount(): number {
    return this.adapters.reduce((n, a) => n + a.A.rows * a.A.cols + a.B.rows * a.B.cols, 0);
  }

  setDropoutSeed(seed: number): void {
    this.rt.device.queue.writeBuffer(this.seed, 0, new Uint32Array([seed >>> 0, 0, 0, 0]));
  }

  /** Encodes zeroing of every gradient (and, with `moments`, of the AdamW moments). */
  zero(encoder: GPUCommandEncoder, moments = false): void {
    for (const a of this.adapters) {
      for (const t of [a.A, a.B]) {
        encoder.clearBuffer(t.grad);
        if (moments) {
          encoder.clearBuffer(t.m);
          encoder.clearBuffer(t.v);
        }
      }
    }
  }

  /**
   * The forward hook for batches of M rows: the adapters' ops over the scratch of this shape.
   * `train` false: evaluation (PEFT's eval mode), no dropout.
   */
  forShape(M: number, train = true): (block: number) => BlockAdapter | undefined {
    const k = train ? M : -M;
    let hook = this.shapes.get(k);
    if (!hook) this.shapes.set(k, (hook = this.makeShape(M, train)));
    return hook;
  }

  /**
   * Scratch of batches of M rows, owned by the adapters and made once per M, shared by every layer
   * (their dispatches run one after another) and by the forward and the backward: u and du [M, r],
   * the MLP's gate and up apart. Made when a hook or consumer is made, not lazily: a buffer first asked
   * for while a pass is built would be tracked (and freed) with that pass.
   */
  private scratch(M: number): Scratch {
    let s = this.scratchByRows.get(M);
    if (!s) {
      const own = (count: number, label: string) => {
        const b = createStorageBuffer(this.rt.device, count * 4, `lora.${label}`);
        this.owned.push(b);
        return b;
      };
      const { r } = this.settings;
      const I = this.config.intermediateSize;
      s = { u: own(M * r, 'u'), du: own(M * r, 'du'), mlp: { gate: own(M * I, 'gate'), up: own(M * I, 'up') } };
      this.scratchByRows.set(M, s);
    }
    return s;
  }

  private makeShape(M: number, train: boolean): (block: number) => BlockAdapter | undefined {
    const scratch = this.scratch(M);
    return (block) => {
      if (!this.plan.includes(block)) return undefined;
      return {
        linear: (io: LinearIo) => {
          const ad = this.get(block, io.name);
          if (!ad) return [];
          if (io.N !== ad.N || io.K !== ad.K) throw new Error(`LoRA ${ad.block}.${ad.name}: layer is [${io.N}, ${io.K}], adapter [${ad.N}, ${ad.K}]`);
          return [
            loraDown(this.rt, this.layerArgs(ad, io.M, io.x, scratch, train)),
            createLinear(this.rt, { M: io.M, N: ad.N, K: this.settings.r, dtype: 'f32', x: scratch.u, w: ad.B.value, y: io.y, epilogue: 'residual' }),
          ];
        },
        mlpScratch: () => scratch.mlp,
      };
    };
  }

  private layerArgs(ad: LinearAdapter, M: number, x: GPUBuffer, scratch: Scratch, train: boolean): LoraLayerArgs {
    const { r, dropout } = this.settings;
    return { M, N: ad.N, K: ad.K, r, scale: this.scale, p: train ? dropout : 0, salt: ad.salt, seed: this.seed, x, a: ad.A.value, b: ad.B.value, u: scratch.u };
  }

  /** Adapter gradients (accumulated) and the adapters' share of dx, as the backward's consumer of batches of M rows. */
  consumer(M: number): GradientConsumer {
    const scratch = this.scratch(M);
    return {
      linear: (rt, g) => {
        const ad = this.get(g.block, g.name);
        if (!ad) return [];
        if (g.M !== M) throw new Error(`LoRA consumer made for ${M} rows got a layer of ${g.M}`);
        return [loraBackward(rt, { ...this.layerArgs(ad, M, g.x, scratch, true), dy: g.dy, du: scratch.du, gradA: ad.A.grad, gradB: ad.B.grad, dx: g.dx })];
      },
    };
  }

  /** Reads A and B (or their gradients) of every adapter. */
  async read(what: 'value' | 'grad' = 'value'): Promise<{ block: number; name: LinearName; A: Float32Array; B: Float32Array }[]> {
    const dev = this.rt.device;
    const out = [];
    for (const a of this.adapters) {
      out.push({ block: a.block, name: a.name, A: await readF32(dev, a.A[what], a.A.rows * a.A.cols), B: await readF32(dev, a.B[what], a.B.rows * a.B.cols) });
    }
    return out;
  }

  /** Overwrites an adapter's A and B (tests, resuming). */
  write(block: number, name: LinearName, A: Float32Array, B: Float32Array): void {
    const ad = this.get(block, name);
    if (!ad) throw new Error(`LoRA: no adapter on ${block}.${name}`);
    if (A.length !== ad.A.rows * ad.A.cols || B.length !== ad.B.rows * ad.B.cols) throw new RangeError(`LoRA ${block}.${name}: wrong A / B sizes`);
    writeBuffer(this.rt.device, ad.A.value, A);
    writeBuffer(this.rt.device, ad.B.value, B);
  }

  dispose(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
