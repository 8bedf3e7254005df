/** float64 references of the LoRA kernels (shaders/lora.wgsl) and of AdamW (shaders/adamw.wgsl). */


/** The shader's PCG hash in u32 arithmetic. */
export function pcgRef(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** Whether element i is kept: u(i) >= p with u(i) = (pcg(i ^ pcg(seed ^ salt)) >> 8) / 2^24. */
export function keepRef(i: number, seed: number, salt: number, p: number): boolean {
  const u = (pcgRef((i ^ pcgRef((seed ^ salt) >>> 0)) >>> 0) >>> 8) / 16777216;
  return u >= p;
}

export function dropoutRef(x: ArrayLike<number>, p: number, seed: number, salt: number, acc?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = (keepRef(i, seed, salt, p) ? x[i]! / (1 - p) : 0) + (acc ? acc[i]! : 0);
  return y;
}

/** One adapted layer (shaders/lora.wgsl): x [M, K], A [r, K], B [N, r], dy [M, N]; the dropout mask of (seed, salt). */
export interface LoraLayerRef {
  M: number;
  N: number;
  K: number;
  r: number;
  scale: number;
  p: number;
  seed: number;
  salt: number;
  x: ArrayLike<number>;
  a: ArrayLike<number>;
  b: ArrayLike<number>;
}

/** u [M, r] = scale * dropout(x) A^T. */
export function loraDownRef(l: LoraLayerRef): Float64Array {
  const xd = dropoutRef(l.x, l.p, l.seed, l.salt);
  const u = new Float64Array(l.M * l.r);
  for (let m = 0; m < l.M; m++) for (let j = 0; j < l.r; j++) {
    let acc = 0;
    for (let k = 0; k < l.K; k++) acc += xd[m * l.K + k]! * l.a[j * l.K + k]!;
    u[m * l.r + j] = l.scale * acc;
  }
  return u;
}

/** The adapter's backward: dB = priorB + dy^T u, du = scale * dy B, dA = priorA + du^T dropout(x), dx = priorDx + mask(du A). */
export function loraBackwardRef(l: LoraLayerRef, dy: ArrayLike<number>, prior: { gradA: ArrayLike<number>; gradB: ArrayLike<number>; dx: ArrayLike<number> }) {
  const { M, N, K, r } = l;
  const u = loraDownRef(l);
  const xd = dropoutRef(l.x, l.p, l.seed, l.salt);
  const gradB = Float64Array.from(prior.gradB);
  const gradA = Float64Array.from(prior.gradA);
  const du = new Float64Array(M * r);
  const duA = new Float64Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < r; j++) {
      let acc = 0;
      for (let n = 0; n < N; n++) {
        gradB[n * r + j]! += dy[m * N + n]! * u[m * r + j]!;
        acc += dy[m * N + n]! * l.b[n * r + j]!;
      }
      du[m * r + j] = l.scale * acc;
    }
    for (let j = 0; j < r; j++) for (let k = 0; k < K; k++) {
      gradA[j * K + k]! += du[m * r + j]! * xd[m * K + k]!;
      duA[m * K + k]! += du[m * r + j]! * l.a[j * K + k]!;
    }
  }
  return { u, du, gradA, gradB, dx: dropoutRef(duA, l.p, l.seed, l.salt, prior.dx) };
}

export interface AdamWRefState {
  w: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** torch.optim.AdamW step t (1-based) on float64 state, in place; grad is scaled by gradScale first. */
export function adamwRef(
  s: AdamWRefState,
  grad: ArrayLike<number>,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
  t: number,
  gradScale = 1,
): void {
  const bc1 = 1 - h.beta1 ** t;
  const sqrtBc2 = Math.sqrt(1 - h.beta2 ** t);
  for (let i = 0; i < s.w.length; i++) {
    const g = grad[i]! * gradScale;
    s.m[i] = h.beta1 * s.m[i]! + (1 - h.beta1) * g;
    s.v[i] = h.beta2 * s.v[i]! + (1 - h.beta2) * g * g;
    s.w[i] = s.w[i]! * (1 - h.lr * h.weightDecay) - (h.lr / bc1) * s.m[i]! / (Math.sqrt(s.v[i]!) / sqrtBc2 + h.eps);
  }
}

/** W + scale * B A in float64: W [N, K], A [r, K], B [N, r]. */
export function loraMergeRef(w: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, N: number, K: number, r: number, scale: number): Float64Array {
  const out = Float64Array.from(w);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
    let acc = 0;
    for (let j = 0; j < r; j++) acc += b[n * r + j]! * a[j * K + k]!;
    out[n * K + k]! += scale * acc;
  }
  return out;
}
