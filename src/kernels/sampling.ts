import { createStorageBuffer, readBuffer } from '../gpu/buffers';
import { Readback } from '../gpu/readback';
import { packParams, type GpuRuntime } from '../gpu/runtime';
import { shaderOf } from '../gpu/wgsl-include';
import { bindAt, encodeAll, reductionWorkgroup, type Dispatch } from './common';

/** sampling.wgsl for the first top-k stage (ids are columns, writes the lse partials) or a later one (ids from idx). */
const shader = (stage: 'first' | 'next') => shaderOf(['sampling.wgsl', `sampling/${stage}_stage.wgsl`]);
const CHUNK = 1024;
/** Token id of a missing candidate. */
export const NO_TOKEN = 0xffffffff;
export const MAX_TOP_K = 64;

/** Greedy decoding: ids[r] = argmax of logits row r (ties: smallest id). */
export class Argmax {
  private readonly dispatch: Dispatch;
  /** u32 [rows] token ids. */
  readonly ids: GPUBuffer;

  /** `workgroupSize`: threads per row (power of two; default reductionWorkgroup: 256 on GPUs, 4 on CPU adapters). */
  constructor(private readonly rt: GpuRuntime, private readonly a: { rows: number; V: number; logits: GPUBuffer; ids?: GPUBuffer; workgroupSize?: number }) {
    const pipeline = rt.pipelines.get(shader('first'), 'argmax', { WG: a.workgroupSize ?? reductionWorkgroup(rt, 256) });
    this.ids = a.ids ?? createStorageBuffer(rt.device, a.rows * 4, 'argmax.ids');
    const params = rt.uniform(packParams([{ u32: a.rows }, { u32: a.V }, { u32: 0 }, { u32: 0 }, { f32: 1 }]), 'argmax.params');
    this.dispatch = { pipeline, bindGroup: bindAt(rt, pipeline, { 0: params, 1: a.logits, 4: this.ids }, 'argmax'), grid: rt.grid(a.rows) };
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }

  /** The ids (submit the pass first). */
  async read(): Promise<Uint32Array> {
    return new Uint32Array(await readBuffer(this.rt.device, this.ids, this.a.rows * 4));
  }
}

/** The k best logits of each row (best first) and the row's log-partition at the current temperature. */
export interface Candidates {
  values: Float32Array;
  ids: Uint32Array;
  /** log sum_i exp(logit_i / temperature) over the whole vocabulary. */
  logZ: number;
}

/**
 * GPU top-k (k <= 64) over logits [rows, V]: chained selection stages (chunks of 1024 -> k each) until
 * one chunk is left; the first stage also writes per-chunk log-sum-exp partials at the temperature set
 * with setTemperature (a uniform rewritten in place, no rebuild). read() fetches k candidates per row
 * plus the partials (a few KB), never the logits.
 */
export class TopK {
  private readonly dispatches: Dispatch[] = [];
  private firstParams!: GPUBuffer;
  private firstParamWords!: ArrayBuffer;
  /** f32 [rows, k]: the candidates' logits, best first (the last stage's output). */
  readonly outV: GPUBuffer;
  /** u32 [rows, k]: their token ids (NO_TOKEN where missing). */
  readonly outI: GPUBuffer;
  /** f32 [rows, nchunks0, 2]: the first stage's log-sum-exp partials (max, sum) at the temperature. */
  readonly lse: GPUBuffer;
  readonly nchunks0: number;
  readonly k: number;
  private readonly readback: Readback;
  private readonly owned: GPUBuffer[] = [];

  /** `workgroupSize`: threads per chunk (power of two; default reductionWorkgroup: 256 on GPUs, 4 on CPU adapters). */
  constructor(
    private readonly rt: GpuRuntime,
    private readonly a: { rows: number; V: number; k: number; logits: GPUBuffer; temperature?: number; workgroupSize?: number },
  ) {
    if (a.k < 1 || a.k > MAX_TOP_K) throw new Error(`TopK: k = ${a.k} outside 1..${MAX_TOP_K}`);
    const WG = a.workgroupSize ?? reductionWorkgroup(rt, 256);
    const { rows, k } = a;
    this.k = k;
    this.nchunks0 = Math.ceil(a.V / CHUNK);
    this.lse = createStorageBuffer(rt.device, rows * this.nchunks0 * 8, 'topk.lse');
    let n = a.V;
    let vals = a.logits;
    let idx: GPUBuffer | undefined;
    let first = true;
    for (;;) {
      const nchunks = Math.ceil(n / CHUNK);
      const outV = createStorageBuffer(rt.device, rows * nchunks * k * 4, 'topk.values');
      const outI = createStorageBuffer(rt.device, rows * nchunks * k * 4, 'topk.ids');
      this.owned.push(outV, outI);
      const words = packParams([
        { u32: rows }, { u32: n }, { u32: nchunks }, { u32: k }, { f32: 1 / (a.temperature ?? 1) },
      ]);
      const params = rt.uniform(words, 'topk.params');
      if (first) {
        this.firstParams = params;
        this.firstParamWords = words;
      }
      const pipeline = rt.pipelines.get(shader(first ? 'first' : 'next'), 'topk', { WG });
      const stage: Record<number, GPUBuffer> = idx ? { 2: idx } : { 5: this.lse };
      const bindGroup = bindAt(rt, pipeline, { 0: params, 1: vals, 3: outV, 4: outI, ...stage }, 'topk');
      this.dispatches.push({ pipeline, bindGroup, grid: rt.grid(rows * nchunks) });
      first = false;
      vals = outV;
      idx = outI;
      n = nchunks * k;
      if (nchunks === 1) break;
    }
    this.outV = vals;
    this.outI = idx!;
    this.readback = new Readback(rt.device, [
      { buffer: this.outV, bytes: rows * k * 4 },
      { buffer: this.outI, bytes: rows * k * 4 },
      { buffer: this.lse, bytes: rows * this.nchunks0 * 8 },
    ], 'topk');
  }

  /** Temperature for the log-partition (selection itself does not depend on it). */
  setTemperature(temperature: number): void {
    new DataView(this.firstParamWords).setFloat32(16, 1 / temperature, true);
    this.rt.device.queue.writeBuffer(this.firstParams, 0, this.firstParamWords);
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, this.dispatches);
  }

  /** Candidates of each row (submit the pass first). */
  async read(): Promise<Candidates[]> {
    return this.candidates(await this.readback.readNow());
  }

  destroy(): void {
    this.readback.destroy();
    this.lse.destroy();
    this.owned.forEach((b) => b.destroy());
  }

  private candidates([v, i, l]: ArrayBuffer[]): Candidates[] {
    const { rows, k } = this.a;
    const values = new Float32Array(v!);
    const ids = new Uint32Array(i!);
    const lse = new Float32Array(l!);
    const out: Candidates[] = [];
    for (let r = 0; r < rows; r++) {
      let mx = -Infinity;
      for (let c = 0; c < this.nchunks0; c++) mx = Math.max(mx, lse[(r * this.nchunks0 + c) * 2]!);
      let s = 0;
      for (let c = 0; c < this.nchunks0; c++) {
        const o = (r * this.nchunks0 + c) * 2;
        s += lse[o + 1]! * Math.exp(lse[o]! - mx);
      }
      out.push({ values: values.slice(r * k, (r + 1) * k), ids: ids.slice(r * k, (r + 1) * k), logZ: mx + Math.log(s) });
    }
    return out;
  }
}

export interface SamplingOptions {
  /** <= 0: greedy (the first candidate). */
  temperature: number;
  /** Keep the topK best (0 = off; at most the number of candidates). */
  topK?: number;
  /** Nucleus: keep the smallest best-first prefix whose probability reaches topP (1 = off). */
  topP?: number;
  /**
   * Hugging Face's repetition_penalty, applied first: the logits of tokens in the prompt or the
   * output so far are divided by it (multiplied when negative). 1 = off; > 1 discourages repeats.
   */
  repetitionPenalty?: number;
}

/**
 * Draws the next token of row 0 from a TopK's candidates on the GPU, in Hugging Face warper order
 * (temperature, top-k renormalised among the kept logits, top-p), into `out` (u32 [1]). Without
 * top-k the probabilities are normalised over the whole vocabulary; a nucleus that extends past
 * the candidates is truncated to them. The uniform for the next dispatch is set with setUniform.
 */
export class Draw {
  private readonly dispatch: Dispatch;
  private readonly params: GPUBuffer;
  private readonly words: ArrayBuffer;

  constructor(private readonly rt: GpuRuntime, topK: TopK, o: SamplingOptions, out: GPUBuffer) {
    const pipeline = rt.pipelines.get(shader('next'), 'draw');
    this.words = packParams([
      { u32: topK.k }, { u32: topK.nchunks0 }, { u32: o.topK && o.topK > 0 ? o.topK : 0 }, { f32: o.temperature }, { f32: o.topP ?? 1 }, { f32: 0 },
    ]);
    this.params = rt.uniform(this.words, 'draw.params');
    this.dispatch = { pipeline, bindGroup: bindAt(rt, pipeline, { 6: this.params, 1: topK.outV, 2: topK.outI, 5: topK.lse, 4: out }, 'draw'), grid: [1, 1] };
  }

  /** Queues the uniform in [0, 1) that the next submitted draw uses. */
  setUniform(u: number): void {
    new DataView(this.words).setFloat32(20, u, true);
    this.rt.device.queue.writeBuffer(this.params, 0, this.words);
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeAll(pass, [this.dispatch]);
  }
}
