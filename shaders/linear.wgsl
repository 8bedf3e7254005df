// Linear layers y = x W^T (HF Linear weight W[N, K] = [out, in]): y[m, n] = sum_k x[m, k] * W[n, k].
// Entry points over shared bindings, overrides and epilogues:
//   `matmul`    tiled in workgroup memory, for prefill / scoring (M = B*T rows, up to thousands) on GPUs
//   `matmul_wide` the same with 8x8 blocks per thread (a candidate for `matmul`, benchmarked beside it)
//   `matmul_wide_split`, `matmul_split_reduce`  `matmul_wide` over SPLIT slices of K into partial sums, then
//               their sum through the epilogue: for few output tiles (small M), where a GPU would sit idle
//   `matmul_direct` register-tiled without workgroup memory: the same job on CPU adapters (SwiftShader)
//   `matvec`    split-K, for decode (M = 1..8 rows): memory-bound, every weight byte read once
//   `matvec_sg` in linear_subgroups.wgsl (it has to open with `enable subgroups;`): `matvec` with a subgroup
//               reduction, chosen when the device has `subgroups`.
//
// Variants: a module is this file plus one file of each kind from shaders/linear/ (the wrapper picks them),
// so every pipeline binds only what it reads:
//   weights   one_weight.wgsl  wg only (epilogues 0 and 1)
//             gate_up.wgsl     wg and wu (EPI = 2)
//             qkv.wgsl         wg, wu, wv and the outputs y1, y2: three projections in one matvec (SEGS = 3)
//   norm      plain.wgsl       x as it is;  norm.wgsl: the matvec's input RMSNorm fused in (binding nw)
//   K split   whole_k.wgsl     `matmul_wide` stores through the epilogue;  split_k.wgsl: `matmul_wide_split` and
//                              `matmul_split_reduce` over the partial sums in `part`
//
// Bindings:
//   0 uniform Params { M, N, K, ldy, n_off, eps, n1, n2 }
//   1 x  : array<vec4<f32>>  activations [M, K] row-major f32 (viewed as vec4; buffers are 16-byte padded)
//   2 wg : array<vec4<u32>>  weight [N, K] row-major: f32 bits, or f16 packed two per u32 with element 2i in the
//                            low half (W_F16), or quantized rows (W_Q, lib/quant.wgsl). The gate weight for EPI = 2.
//   3 wu : array<vec4<u32>>  up weight [N, K] for EPI = 2, second weight [n1, K] for SEGS = 3
//   4 y  : array<f32>        output, element (m, n) at m*ldy + n_off + n (ldy >= n_off + N); not bound by
//                            `matmul_wide_split`
//   5 nw : array<u32>        norm.wgsl: RMSNorm weight [K] (f32 bits or packed f16, NW_F16)
//   6 wv : array<vec4<u32>>  qkv.wgsl: third weight [n2, K]
//   7 y1, 8 y2 : array<f32>  qkv.wgsl: outputs [M, n1] and [M, n2] of the second and third weight
//   9 part : array<f32>      split_k.wgsl: partial sums [SPLIT, M, N] (then [SPLIT, M, N] of the up weight for
//                            EPI 2), written by `matmul_wide_split`, read by `matmul_split_reduce`
// Large weights (LM head) are bound in row windows: one dispatch per window, each with its own Params
// (N = rows in the window, n_off = its first row), writing its columns of y.
// Shared overrides:
//   W_F16, W_Q  weight storage (f32, packed f16, or q8 / q4 rows dequantized as they are read: every entry point
//          reads weights through w_at / load_w4 / w_chunk_at, the one place that knows the storage)
//   EPI    epilogue: 0 y = acc; 1 y = y + acc (residual add in place: y holds the residual stream);
//          2 y = silu(acc_gate) * acc_up (SwiGLU from the gate and up weights in one pass)
//   VEC    16-byte loads: matmul needs K % 4 == 0, matvec K % 8 == 0; false: scalar loads, any K.
//   (SEGS, the number of projections, is a const of the weights file; the fused norm is described in norm.wgsl.)

//#include "lib/grid.wgsl"
//#include "lib/f16.wgsl"
//#include "lib/quant.wgsl"
//#include "lib/activation.wgsl"

override W_F16: bool = false;
override VEC: bool = false;
override EPI: u32 = 0u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  ldy: u32,
  n_off: u32,
  eps: f32,
  n1: u32,
  n2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wg: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn x_at(i: u32) -> f32 {
  return x[i >> 2u][i & 3u];
}

// Word j of weight `which`.
fn w_word(which: u32, j: u32) -> u32 {
  return w_vec(which, j >> 2u)[j & 3u];
}

// First word of quantized row n, and the scale of its group holding element k.
fn q_row(n: u32) -> u32 {
  return n * q_row_words(p.K);
}

fn q_scale_at(which: u32, row: u32, k: u32) -> f32 {
  return q_scale(w_word(which, row + q_scale_offset(k, p.K)), k);
}

// Element (n, k) of weight `which`.
fn w_at(which: u32, n: u32, k: u32) -> f32 {
  if (W_Q != 0u) {
    let row = q_row(n);
    return q_code(w_word(which, row + q_code_offset(k)), k) * q_scale_at(which, row, k);
  }
  let i = n * p.K + k;
  if (W_F16) {
    return f16_at(w_word(which, i >> 1u), i);
  }
  return bitcast<f32>(w_word(which, i));
}

// Stores one output element through the epilogue.
fn store(o: u32, acc: f32, acc_up: f32) {
  if (EPI == 0u) {
    y[o] = acc;
  } else if (EPI == 1u) {
    y[o] = y[o] + acc;
  } else {
    y[o] = silu(acc) * acc_up;
  }
}

// ============================================================================ matmul
//
// entry point `matmul`
//   dispatch : one workgroup of 16x16 threads per BM x BN = 64 x 64 output tile; tiles numbered
//              t = wid.y*nwg.x + wid.x, tile row = t / ceil(N/64), tile col = t % ceil(N/64).
//   tiling   : BK = 16; x and W tiles are staged in workgroup memory as rows of vec4 along k (padded rows,
//              15 KiB with EPI 2); each thread accumulates a 4x4 block (two with EPI 2) as 4-wide dot products,
//              all in named registers (no dynamically indexed arrays, which software GPUs emulate per lane).
//              Thread (tx, ty) = (t % 16, t / 16) takes rows m0 + ty*4 + i and columns n0 + tx + 16j: eight
//              neighbouring lanes then read weight rows 5 vec4 apart, which fall in distinct banks (rows tx*4 + j
//              were 20 vec4 apart: a 4-way bank conflict on every weight load), and 16 lanes store 16
//              consecutive outputs.
//              With VEC, x is read as vec4<f32> and weights as vec4<u32> (4 f32, or 8 f16 of which 4 are used).
//   precision: f32 accumulation, 4-term dot products in k order within each thread (no split-K):
//              error ~ sqrt(K) * 2^-24 * |x||w|.

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

// Tiles stored row-major as vec4 along k, rows padded to 5 vec4 (BK/4 + 1) against bank conflicts:
// elements (row, 4q .. 4q+3) of a tile at [row * TS + q].
const TS: u32 = 5u;
var<workgroup> xs: array<vec4<f32>, 320>;
var<workgroup> gs: array<vec4<f32>, 320>;
var<workgroup> us: array<vec4<f32>, 320>;

fn x_or_zero(i: u32, ok: bool) -> f32 {
  return select(0.0, x_at(i), ok);
}

fn w_or_zero(which: u32, n: u32, k: u32, ok: bool) -> f32 {
  return select(0.0, w_at(which, n, k), ok);
}

// Four consecutive x elements of row m from column k (zeros past the matrix).
fn load_x4(m: u32, k: u32) -> vec4<f32> {
  if (m >= p.M || k >= p.K) {
    return vec4<f32>(0.0);
  }
  let i = m * p.K + k;
  if (VEC) {
    return x[i >> 2u];
  }
  return vec4<f32>(x_at(i), x_or_zero(i + 1u, k + 1u < p.K), x_or_zero(i + 2u, k + 2u < p.K), x_or_zero(i + 3u, k + 3u < p.K));
}

// Four consecutive weight elements of row n from column k (zeros past the matrix).
fn load_w4(which: u32, n: u32, k: u32) -> vec4<f32> {
  if (n >= p.N || k >= p.K) {
    return vec4<f32>(0.0);
  }
  if (VEC) {
    if (W_Q != 0u) {
      let row = q_row(n);
      let word = w_word(which, row + q_code_offset(k));
      let s = q_scale_at(which, row, k);
      if (W_Q == 8u) {
        return q8_codes(word) * s;
      }
      return q4_codes(word, (k & 4u) != 0u) * s;
    }
    let i = n * p.K + k;
    if (W_F16) {
      let q = w_vec(which, i >> 3u);
      let h = select(q.xy, q.zw, (i & 4u) != 0u);
      return f16x4(h.x, h.y);
    }
    return bitcast<vec4<f32>>(w_vec(which, i >> 2u));
  }
  return vec4<f32>(w_at(which, n, k), w_or_zero(which, n, k + 1u, k + 1u < p.K), w_or_zero(which, n, k + 2u, k + 2u < p.K),
                   w_or_zero(which, n, k + 3u, k + 3u < p.K));
}

// One row of x against four weight rows: the 4 dot products.
fn dot4(a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
}

// Columns n .. n+3 of row m through the epilogue, skipping those past M / N (matmul and matvec).
fn store_row(m: u32, n: u32, acc: vec4<f32>, accu: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  let o = m * p.ldy + p.n_off + n;
  if (n < p.N) {
    store(o, acc.x, accu.x);
  }
  if (n + 1u < p.N) {
    store(o + 1u, acc.y, accu.y);
  }
  if (n + 2u < p.N) {
    store(o + 2u, acc.z, accu.z);
  }
  if (n + 3u < p.N) {
    store(o + 3u, acc.w, accu.w);
  }
}

// Columns n, n + 16, n + 32, n + 48 of row m through the epilogue, skipping those past M / N (`matmul`).
fn store_cols16(m: u32, n: u32, acc: vec4<f32>, accu: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  let o = m * p.ldy + p.n_off + n;
  for (var j = 0u; j < 4u; j++) {
    if (n + 16u * j < p.N) {
      store(o + 16u * j, acc[j], accu[j]);
    }
  }
}

fn tile_count() -> u32 {
  return ((p.N + BN - 1u) / BN) * ((p.M + BM - 1u) / BM);
}

// First row and column of BM x BN output tile `tile`, and whether the tile exists (z = 1).
fn tile_origin_of(tile: u32) -> vec3u {
  let tiles_n = (p.N + BN - 1u) / BN;
  return vec3u((tile / tiles_n) * BM, (tile % tiles_n) * BN, select(0u, 1u, tile < tile_count()));
}

// The output tile of this workgroup.
fn tile_origin(grid: Grid) -> vec3u {
  return tile_origin_of(group_index(grid));
}

@compute @workgroup_size(256)
fn matmul(grid: Grid, @builtin(local_invocation_index) t: u32) {
  let origin = tile_origin(grid);
  if (origin.z == 0u) {
    return;
  }
  let m0 = origin.x;
  let n0 = origin.y;
  // Loader geometry: tile row lr, vec4 column lq (elements 4*lq .. 4*lq + 3 of the BK slice).
  let lr = t >> 2u;
  let lq = t & 3u;
  // Compute geometry: rows m0 + ty*4 .. +3, columns n0 + tx + 16j (j = 0..3); no dynamically indexed arrays.
  let tx = t & 15u;
  let ty = t >> 4u;
  let xr = ty * 4u * TS;
  let wr = tx * TS;

  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var u0 = vec4<f32>(0.0);
  var u1 = vec4<f32>(0.0);
  var u2 = vec4<f32>(0.0);
  var u3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    xs[lr * TS + lq] = load_x4(m0 + lr, k0 + lq * 4u);
    gs[lr * TS + lq] = load_w4(0u, n0 + lr, k0 + lq * 4u);
    if (EPI == 2u) {
      us[lr * TS + lq] = load_w4(1u, n0 + lr, k0 + lq * 4u);
    }
    workgroupBarrier();
    for (var q = 0u; q < BK / 4u; q++) {
      let a0 = xs[xr + q];
      let a1 = xs[xr + TS + q];
      let a2 = xs[xr + 2u * TS + q];
      let a3 = xs[xr + 3u * TS + q];
      let b0 = gs[wr + q];
      let b1 = gs[wr + 16u * TS + q];
      let b2 = gs[wr + 32u * TS + q];
      let b3 = gs[wr + 48u * TS + q];
      c0 += dot4(a0, b0, b1, b2, b3);
      c1 += dot4(a1, b0, b1, b2, b3);
      c2 += dot4(a2, b0, b1, b2, b3);
      c3 += dot4(a3, b0, b1, b2, b3);
      if (EPI == 2u) {
        let v0 = us[wr + q];
        let v1 = us[wr + 16u * TS + q];
        let v2 = us[wr + 32u * TS + q];
        let v3 = us[wr + 48u * TS + q];
        u0 += dot4(a0, v0, v1, v2, v3);
        u1 += dot4(a1, v0, v1, v2, v3);
        u2 += dot4(a2, v0, v1, v2, v3);
        u3 += dot4(a3, v0, v1, v2, v3);
      }
    }
    workgroupBarrier();
  }
  let m = m0 + ty * 4u;
  let n = n0 + tx;
  store_cols16(m, n, c0, u0);
  store_cols16(m + 1u, n, c1, u1);
  store_cols16(m + 2u, n, c2, u2);
  store_cols16(m + 3u, n, c3, u3);
}

// ============================================================================ matmul_direct
//
// entry point `matmul_direct` (CPU adapters: SwiftShader, lavapipe; the wrapper picks it there)
//   dispatch : one thread per 8x8 output block, 64 threads a workgroup: ceil(ceil(M/8) * ceil(N/8) / 64)
//              workgroups over (x, y); thread t = (wid.y*nwg.x + wid.x)*64 + lid takes block row t / ceil(N/8),
//              block column t % ceil(N/8) (neighbouring threads share x rows).
//   why      : a CPU has no on-chip shared memory. Staging tiles in workgroup memory costs stores, loads and a
//              coroutine switch per thread at each barrier, and the caches already give the reuse; registers
//              are what it has. SwiftShader, 2 cores, 1280x128 . 4096x128^T f16: 4.7 s with `matmul`, 0.9 s here.
//   needs    : K % 8 == 0 (VEC); rows past M / N are clamped to the last one, computed and not stored.
//   precision: f32; per output, k in chunks of 8 (two 4-term dots) summed in k order.

// Eight consecutive elements along k.
struct Chunk8 {
  a: vec4<f32>,
  b: vec4<f32>,
}

// The same 8-element k chunk of four consecutive weight rows.
struct Rows4 {
  r0: Chunk8,
  r1: Chunk8,
  r2: Chunk8,
  r3: Chunk8,
}

// Output columns n .. n+7 of one row (gate or plain accumulator; up for EPI 2).
struct Acc8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

fn x_chunk(m: u32, k: u32) -> Chunk8 {
  let i = (min(m, p.M - 1u) * p.K + k) >> 2u;
  return Chunk8(x[i], x[i + 1u]);
}

// Elements k .. k+7 (k % 8 == 0, K % 8 == 0) of row n of weight `which`: one group, so one scale.
fn w_chunk_at(which: u32, n: u32, k: u32) -> Chunk8 {
  if (W_Q != 0u) {
    let row = q_row(n);
    let s = q_scale_at(which, row, k);
    let j = row + q_code_offset(k);
    if (W_Q == 8u) {
      let v = w_vec(which, j >> 2u);
      let pair = select(v.xy, v.zw, (j & 2u) != 0u);
      return Chunk8(q8_codes(pair.x) * s, q8_codes(pair.y) * s);
    }
    let word = w_word(which, j);
    return Chunk8(q4_codes(word, false) * s, q4_codes(word, true) * s);
  }
  let e = n * p.K + k;
  if (W_F16) {
    let q = w_vec(which, e >> 3u);
    return Chunk8(f16x4(q.x, q.y), f16x4(q.z, q.w));
  }
  let j = e >> 2u;
  return Chunk8(bitcast<vec4<f32>>(w_vec(which, j)), bitcast<vec4<f32>>(w_vec(which, j + 1u)));
}

// w_chunk_at with rows past N clamped to the last one (matmul_direct computes and drops them).
fn w_chunk(which: u32, n: u32, k: u32) -> Chunk8 {
  return w_chunk_at(which, min(n, p.N - 1u), k);
}

fn w_rows4(which: u32, n: u32, k: u32) -> Rows4 {
  return Rows4(w_chunk(which, n, k), w_chunk(which, n + 1u, k), w_chunk(which, n + 2u, k), w_chunk(which, n + 3u, k));
}

fn dot8(u: Chunk8, v: Chunk8) -> f32 {
  return dot(u.a, v.a) + dot(u.b, v.b);
}

fn dot8x4(u: Chunk8, w: Rows4) -> vec4<f32> {
  return vec4<f32>(dot8(u, w.r0), dot8(u, w.r1), dot8(u, w.r2), dot8(u, w.r3));
}

// The k chunk of x rows m .. m+7.
struct Rows8 {
  r0: Chunk8, r1: Chunk8, r2: Chunk8, r3: Chunk8, r4: Chunk8, r5: Chunk8, r6: Chunk8, r7: Chunk8,
}

// An 8x8 output block: columns n .. n+3 (lo) and n+4 .. n+7 (hi) of rows m .. m+7.
struct Block8 {
  r0: Acc8, r1: Acc8, r2: Acc8, r3: Acc8, r4: Acc8, r5: Acc8, r6: Acc8, r7: Acc8,
}

fn x_rows8(m: u32, k: u32) -> Rows8 {
  return Rows8(x_chunk(m, k), x_chunk(m + 1u, k), x_chunk(m + 2u, k), x_chunk(m + 3u, k),
               x_chunk(m + 4u, k), x_chunk(m + 5u, k), x_chunk(m + 6u, k), x_chunk(m + 7u, k));
}

// One row's 8 outputs += its k chunk against weight rows n .. n+3 (w0) and n+4 .. n+7 (w1).
fn accumulate8(acc: Acc8, xr: Chunk8, w0: Rows4, w1: Rows4) -> Acc8 {
  return Acc8(acc.lo + dot8x4(xr, w0), acc.hi + dot8x4(xr, w1));
}

// The block += this k chunk of its 8 x rows against weight rows n .. n+7 (gate, or up when `up`).
fn accumulate_block(c: Block8, xs: Rows8, which: u32, n: u32, k: u32) -> Block8 {
  let w0 = w_rows4(which, n, k);
  let w1 = w_rows4(which, n + 4u, k);
  return Block8(accumulate8(c.r0, xs.r0, w0, w1), accumulate8(c.r1, xs.r1, w0, w1),
                accumulate8(c.r2, xs.r2, w0, w1), accumulate8(c.r3, xs.r3, w0, w1),
                accumulate8(c.r4, xs.r4, w0, w1), accumulate8(c.r5, xs.r5, w0, w1),
                accumulate8(c.r6, xs.r6, w0, w1), accumulate8(c.r7, xs.r7, w0, w1));
}

// Row m's 8 outputs through the epilogue (store_row skips what lies past M / N).
fn store8(m: u32, n: u32, g: Acc8, u: Acc8) {
  store_row(m, n, g.lo, u.lo);
  store_row(m, n + 4u, g.hi, u.hi);
}

@compute @workgroup_size(64)
fn matmul_direct(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, 64u);
  let blocks_n = (p.N + 7u) / 8u;
  let m = (t / blocks_n) * 8u;
  let n = (t % blocks_n) * 8u;
  if (m >= p.M) {
    return;
  }
  let z = Acc8(vec4<f32>(0.0), vec4<f32>(0.0));
  var g = Block8(z, z, z, z, z, z, z, z);
  var u = g;
  for (var k = 0u; k < p.K; k += 8u) {
    let xs = x_rows8(m, k);
    g = accumulate_block(g, xs, 0u, n, k);
    if (EPI == 2u) {
      u = accumulate_block(u, xs, 1u, n, k);
    }
  }
  store8(m, n, g.r0, u.r0);
  store8(m + 1u, n, g.r1, u.r1);
  store8(m + 2u, n, g.r2, u.r2);
  store8(m + 3u, n, g.r3, u.r3);
  store8(m + 4u, n, g.r4, u.r4);
  store8(m + 5u, n, g.r5, u.r5);
  store8(m + 6u, n, g.r6, u.r6);
  store8(m + 7u, n, g.r7, u.r7);
}

// ============================================================================ matmul_wide
//
// entry point `matmul_wide` (candidate replacement for `matmul` on GPUs, selected explicitly until measured)
//   dispatch : as `matmul`: one workgroup per 64 x 64 output tile, tiles numbered the same way, but 64 threads.
//   tiling   : BK = 16; x and W tiles are stored k-major in workgroup memory (row k = 64 values along m or n, as
//              16 vec4), so one k step is 4 vec4 loads (a: rows ty*4.. and 32 + ty*4.., b: columns tx*4.. and
//              32 + tx*4..) for 64 FMAs: each thread (tx, ty) = (t % 8, t / 8) owns an 8 x 8 block in registers.
//              `matmul`'s 4 x 4 blocks need 8 loads for 64 FMAs, which bounds it by shared-memory bandwidth at
//              half the FMA rate. A quarter warp reads 8 consecutive vec4 (conflict-free) or broadcasts.
//              Loads: thread t brings row t of each tile (4 x 4 elements along k) and scatters it k-major.
//   precision: f32 fma per k in order (one running sum per output, no split-K).

var<workgroup> xk: array<vec4<f32>, 256>;  // [BK][BM / 4]
var<workgroup> gk: array<vec4<f32>, 256>;  // [BK][BN / 4]
var<workgroup> uk: array<vec4<f32>, 256>;

// Row t of a 64-row tile, elements k0 .. k0 + 15, stored k-major: element k at tile[k * 16 + t / 4][t % 4].
fn stage_row(t: u32, k: u32, v: vec4<f32>, which: u32) {
  let i = k * 16u + (t >> 2u);
  let c = t & 3u;
  if (which == 0u) {
    xk[i][c] = v.x; xk[i + 16u][c] = v.y; xk[i + 32u][c] = v.z; xk[i + 48u][c] = v.w;
  } else if (which == 1u) {
    gk[i][c] = v.x; gk[i + 16u][c] = v.y; gk[i + 32u][c] = v.z; gk[i + 48u][c] = v.w;
  } else {
    uk[i][c] = v.x; uk[i + 16u][c] = v.y; uk[i + 32u][c] = v.z; uk[i + 48u][c] = v.w;
  }
}

// Row i of an 8x8 block += a * (b0, b1).
fn axpy8(c: Acc8, a: f32, b0: vec4<f32>, b1: vec4<f32>) -> Acc8 {
  return Acc8(fma(vec4<f32>(a), b0, c.lo), fma(vec4<f32>(a), b1, c.hi));
}

// The block += (a0, a1) (b0, b1)^T: rows a0.x .. a0.w, a1.x .. a1.w against 8 columns.
fn outer_block(c: Block8, a0: vec4<f32>, a1: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) -> Block8 {
  return Block8(axpy8(c.r0, a0.x, b0, b1), axpy8(c.r1, a0.y, b0, b1), axpy8(c.r2, a0.z, b0, b1), axpy8(c.r3, a0.w, b0, b1),
                axpy8(c.r4, a1.x, b0, b1), axpy8(c.r5, a1.y, b0, b1), axpy8(c.r6, a1.z, b0, b1), axpy8(c.r7, a1.w, b0, b1));
}

// The 8 x 8 blocks (gate, and up for EPI 2) of thread t in the tile at rows m0.., columns n0.., summed over
// k in [k_begin, k_end): k_begin a multiple of BK and k_end a multiple of BK or K, so no BK step straddles it.
struct Wide {
  g: Block8,
  u: Block8,
}

fn wide_tile(t: u32, m0: u32, n0: u32, k_begin: u32, k_end: u32) -> Wide {
  let tx = t & 7u;
  let ty = t >> 3u;
  let z = Acc8(vec4<f32>(0.0), vec4<f32>(0.0));
  var g = Block8(z, z, z, z, z, z, z, z);
  var u = g;
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    for (var q = 0u; q < BK / 4u; q++) {
      stage_row(t, q * 4u, load_x4(m0 + t, k0 + q * 4u), 0u);
      stage_row(t, q * 4u, load_w4(0u, n0 + t, k0 + q * 4u), 1u);
      if (EPI == 2u) {
        stage_row(t, q * 4u, load_w4(1u, n0 + t, k0 + q * 4u), 2u);
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let a0 = xk[k * 16u + ty];
      let a1 = xk[k * 16u + 8u + ty];
      g = outer_block(g, a0, a1, gk[k * 16u + tx], gk[k * 16u + 8u + tx]);
      if (EPI == 2u) {
        u = outer_block(u, a0, a1, uk[k * 16u + tx], uk[k * 16u + 8u + tx]);
      }
    }
    workgroupBarrier();
  }
  return Wide(g, u);
}

// Thread t's block of a wide tile goes to rows m0 + ty*4 + i (r0..r3) and m0 + 32 + ty*4 + i (r4..r7), columns
// n0 + tx*4 (lo) and n0 + 32 + tx*4 (hi), row by row through put_row of the K-split file: into y through the
// epilogue (whole_k.wgsl) or raw into slice s of the partial sums (split_k.wgsl).
// Straight-line code: a loop over the rows would index the register block dynamically.
fn put_block(s: u32, t: u32, m0: u32, n0: u32, w: Wide) {
  let m = m0 + (t >> 3u) * 4u;
  let n = n0 + (t & 7u) * 4u;
  put_row(s, m, n, w.g.r0, w.u.r0);
  put_row(s, m + 1u, n, w.g.r1, w.u.r1);
  put_row(s, m + 2u, n, w.g.r2, w.u.r2);
  put_row(s, m + 3u, n, w.g.r3, w.u.r3);
  put_row(s, m + 32u, n, w.g.r4, w.u.r4);
  put_row(s, m + 33u, n, w.g.r5, w.u.r5);
  put_row(s, m + 34u, n, w.g.r6, w.u.r6);
  put_row(s, m + 35u, n, w.g.r7, w.u.r7);
}

// ============================================================================ matvec
//
// entry points `matvec` (reduction in workgroup memory, the portable fallback) and `matvec_sg` (subgroups)
//   dispatch : one workgroup per 4 consecutive output rows n: ceil(N/4) workgroups spread over (x, y),
//              group = wid.y*nwg.x + wid.x (SEGS = 3: (N + n1 + n2) / 4 groups over the three projections). The WG threads split K: thread i reads the 16-byte chunks i, i+WG, ...
//              of each of the 4 weight rows (8 elements a chunk: one vec4<u32> of packed f16, or two of f32) and
//              dots them with the matching x elements; the 4 rows are the lanes of a vec4 accumulator.
//              Batch rows m = 0 .. MB-1 are done one after the other (weights re-read from cache), each
//              followed by its reduction.
//   overrides: MB (batch rows = M, 1..8), WG (threads, power of two), NW_F16 (norm.wgsl: fused input RMSNorm).
//   precision: f32; each thread accumulates its strided chunks, then a tree / subgroup reduction
//              (summation order differs from a sequential dot: error ~ 2^-24 * sqrt(K) * |x||w|). With norm.wgsl the
//              sum of squares takes the same path and 1/sqrt(mean + eps) scales the sums before the epilogue.

override MB: u32 = 1u;
override WG: u32 = 64u;

// Gate (g) and up (u, EPI = 2 only) partial sums of the 4 rows of a workgroup, and the partial sum of
// squares of the x row (ss.x, norm.wgsl only).
struct Acc2 {
  g: vec4<f32>,
  u: vec4<f32>,
  ss: vec4<f32>,
}

var<workgroup> red: array<vec4<f32>, 3u * WG>;

// Dot of x elements (xa, xb) with the 8 weight elements of row n from k (k % 8 == 0).
fn wdot8(which: u32, n: u32, k: u32, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
  return dot8(Chunk8(xa, xb), w_chunk_at(which, n, k));
}

fn wdot8x4(which: u32, rows: vec4<u32>, k: u32, xa: vec4<f32>, xb: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(wdot8(which, rows.x, k, xa, xb), wdot8(which, rows.y, k, xa, xb),
                   wdot8(which, rows.z, k, xa, xb), wdot8(which, rows.w, k, xa, xb));
}

fn w4(which: u32, rows: vec4<u32>, k: u32) -> vec4<f32> {
  return vec4<f32>(w_at(which, rows.x, k), w_at(which, rows.y, k), w_at(which, rows.z, k), w_at(which, rows.w, k));
}

// The 4 rows of matvec workgroup `group`: (first row within its projection, projection 0..2, that
// projection's row count). With SEGS = 1 always projection 0 of N rows.
fn mv_rows(group: u32) -> vec3u {
  let n0 = group * 4u;
  if (SEGS == 1u || n0 < p.N) {
    return vec3u(n0, 0u, p.N);
  }
  if (n0 - p.N < p.n1) {
    return vec3u(n0 - p.N, 1u, p.n1);
  }
  return vec3u(n0 - p.N - p.n1, 2u, p.n2);
}

// This thread's share of rows n0 .. n0 + 3 (clamped to the last of `nrows`) of weight `which` against x row m.
fn mv_accumulate(n0: u32, which: u32, nrows: u32, m: u32, lid: u32) -> Acc2 {
  let last = nrows - 1u;
  let rows = vec4<u32>(n0, min(n0 + 1u, last), min(n0 + 2u, last), min(n0 + 3u, last));
  var acc = Acc2(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  if (VEC) {
    for (var c = lid; c < (p.K >> 3u); c += WG) {
      let e = c * 8u;
      let xi = (m * p.K + e) >> 2u;
      var xa = x[xi];
      var xb = x[xi + 1u];
      acc.ss.x += norm_x8(e, &xa, &xb);
      acc.g += wdot8x4(which, rows, e, xa, xb);
      if (EPI == 2u) {
        acc.u += wdot8x4(1u, rows, e, xa, xb);
      }
    }
  } else {
    for (var k = lid; k < p.K; k += WG) {
      var xv = x_at(m * p.K + k);
      acc.ss.x += norm_x1(k, &xv);
      acc.g += xv * w4(which, rows, k);
      if (EPI == 2u) {
        acc.u += xv * w4(1u, rows, k);
      }
    }
  }
  return acc;
}

@compute @workgroup_size(WG)
fn matvec(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let rows = mv_rows(group_index(grid));
  if (rows.x >= rows.z) {
    return;
  }
  for (var m = 0u; m < MB; m++) {
    let acc = mv_accumulate(rows.x, rows.y, rows.z, m, lid);
    red[lid] = acc.g;
    red[WG + lid] = acc.u;
    red[2u * WG + lid] = acc.ss;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
      if (lid < stride) {
        red[lid] += red[lid + stride];
        red[WG + lid] += red[WG + lid + stride];
        red[2u * WG + lid] += red[2u * WG + lid + stride];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      let f = norm_scale(red[2u * WG].x);
      mv_store(rows.y, rows.z, m, rows.x, red[0] * f, red[WG] * f);
    }
    workgroupBarrier();
  }
}
