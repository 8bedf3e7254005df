/** float64 references of the family kernels: GELU (tanh) gated product and its backward, biases, Gemma's 1 + w. */

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/**
 * 0.5 (1 + tanh(x)) = sigmoid(2x), in the sigmoid form: 1 + tanh(x) cancels catastrophically in float64
 * for x below about -5 (at v = -6.84 the tanh form is 0.85% off), where the sigmoid form keeps full precision.
 */
function halfOnePlusTanh(x: number): number {
  return 1 / (1 + Math.exp(-2 * x));
}

/** PyTorch gelu(v, approximate='tanh') = 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3))). */
export function geluTanhRef(v: number): number {
  return v * halfOnePlusTanh(C * (v + A * v ** 3));
}

/** Its derivative: with s = 0.5 (1 + tanh(u)), 1 - tanh(u)^2 = 4 s (1 - s). */
export function geluTanhGradRef(v: number): number {
  const s = halfOnePlusTanh(C * (v + A * v ** 3));
  return s + 2 * v * s * (1 - s) * C * (1 + 3 * A * v * v);
}

/** h = gelu_tanh(g) * u. */
export function geluGatedRef(g: ArrayLike<number>, u: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: g.length }, (_, i) => geluTanhRef(g[i]!) * u[i]!);
}

/** dg = dh u gelu'(g), du = dh gelu(g). */
export function geluGatedBackwardRef(g: ArrayLike<number>, u: ArrayLike<number>, dh: ArrayLike<number>): { dg: Float64Array; du: Float64Array } {
  const n = g.length;
  return {
    dg: Float64Array.from({ length: n }, (_, i) => dh[i]! * u[i]! * geluTanhGradRef(g[i]!)),
    du: Float64Array.from({ length: n }, (_, i) => dh[i]! * geluTanhRef(g[i]!)),
  };
}

/** y [rows, N] + b [N]. */
export function biasAddRef(y: ArrayLike<number>, b: ArrayLike<number>, rows: number, N: number): Float64Array {
  return Float64Array.from({ length: rows * N }, (_, i) => y[i]! + b[i % N]!);
}

/** Taylor score of a bias: sum_n |b_n * sum_r dy[r, n]|. */
export function biasScoreRef(dy: ArrayLike<number>, b: ArrayLike<number>, rows: number, N: number): number {
  let score = 0;
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += dy[r * N + n]!;
    score += Math.abs(b[n]! * s);
  }
  return score;
}
