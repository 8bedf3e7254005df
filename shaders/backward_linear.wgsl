// Linear layer backward for y = x W^T with a Hugging Face weight W[N, K] (out, in):
//   dX = dY W                       ([M, N] x [N, K] -> [M, K])
//   S  = sum_{n,k} |W[n,k] * dW[n,k]|   with dW = dY^T X (dW[n,k] = sum_m dY[m,n] X[m,k])
// The Taylor score S is fused: dW is formed one 64x64 tile at a time in registers, multiplied by W
// and reduced to one partial sum per workgroup, so dW never exists in global memory. The partial
// sums are then reduced by backward_reduce.wgsl into the score slot.
//
// Common: activations f32 row-major, rows = B*T; W bound as array<u32>, decoded by W_F16 (f32 bits,
// or f16 packed two per u32 with element 2i in the low half) or W_Q (q8 / q4 rows, lib/quant.wgsl: dX and the
// Taylor score then use the dequantized weight). Workgroup 16x16 threads, each thread
// owns a 4x4 register block of the 64x64 output tile (rows ty + 16 i, cols tx + 16 j); the reduction
// dimension is staged through workgroup memory 16 at a time. Sizes need not be multiples of 64 or 16
// (out-of-range loads read 0, out-of-range outputs are not stored).
//
// entry point `dx`
//   bindings : 0 uniform Params { M, N, K, ldy, n_off }
//              1 dy : array<f32> [M, N]
//              2 w  : array<u32> [N, K] (W_F16)
//              3 dx_out : array<f32> [M, K], read_write; overwritten, or dx += dY W when ACCUMULATE
//   dispatch : (ceil(K / 64), ceil(M / 64)); workgroup (x, y) computes dX[64y.., 64x..]
//   precision: f32 products accumulated over n in order (one running sum per output).
//
// entry point `score`
//   bindings : 0 uniform Params { M, N, K, ldy, n_off }
//              1 dy       : array<f32> [M, N]
//              2 w        : array<u32> [N, K] (W_F16)
//              4 x        : array<f32> [M, K] (the layer input of the forward pass)
//              5 partials : array<f32> [ceil(K/64) * ceil(N/64)]; partials[y * nwg.x + x] = sum over
//                           the tile of |W * dW|
//   dispatch : (ceil(K / 64), ceil(N / 64)); workgroup (x, y) owns dW[64y.., 64x..] and loops over all
//              M rows (the whole batch must be in one call: |.| is taken after the sum over rows)
//   precision: dW accumulated over m in order in f32; |W dW| summed per thread then a pairwise tree.
//
// Row windows: a W larger than maxStorageBufferBindingSize is bound in windows of N rows (one dispatch each), dy
// read at columns n_off + n of rows of ldy elements: `dx` accumulates the windows (the first one overwrites
// unless ACCUMULATE), `score` writes each window's partial sums to its own range of `partials`.
//
// entry points `dx_direct`, `score_direct`: the same results for CPU adapters (SwiftShader), which have no
// on-chip shared memory: no workgroup memory, no barriers, no dynamically indexed arrays (emulated per lane
// there). One thread per 8x8 output block held in named registers, 64 threads a workgroup, blocks numbered
// t = (wid.y*nwg.x + wid.x)*64 + lid with the column block fastest.
//   dx_direct    : blocks of dX [M, K] (ceil(M/8) * ceil(K/8) threads); same bindings as `dx`.
//   dx_direct4   : dx_direct with 16-byte loads, four n a step (dy rows as vec4, four W rows of 8 columns as
//                  whole words): float weights (not quantized), K % 8 == 0, N, ldy and n_off % 4 == 0 (the
//                  wrapper checks). Rows past M read the last row and are not stored. Same sums in the same order.
//   score_direct : blocks of dW [N, K] (ceil(N/8) * ceil(K/8) threads); bindings as `score`, but one partial
//                  per block: partials[t] = sum over the block of |W * dW| (a plain sum in the thread).
//   precision    : as `dx` / `score` (every dX or dW element a running sum over n or m in order).

//#include "lib/grid.wgsl"
//#include "lib/weight.wgsl"
//#include "lib/reduce.wgsl"

override ACCUMULATE: bool = false;

const TS: u32 = 16u;   // threads per tile side
const BT: u32 = 64u;   // tile side
const BK: u32 = 16u;   // reduction depth staged per step
const WG: u32 = 256u;  // threads per workgroup

struct Params {
  M: u32,
  N: u32,
  K: u32,
  ldy: u32,    // row stride of dy (N, or the whole layer's width when W is bound in row windows)
  n_off: u32,  // column of dy that row 0 of this window of W produces
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> dy4: array<vec4<f32>>;  // dx_direct4 only
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx_out: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> tileA: array<f32, 1024>;  // [BK][BT]
var<workgroup> tileB: array<f32, 1024>;  // [BK][BT]

// Once every thread has staged its part: acc[i][j] += sum_r tileA[r][ty + 16 i] * tileB[r][tx + 16 j] over
// the BK staged rows r, (tx, ty) = lid3.xy; returns when all threads are done reading the tiles.
fn multiply_tiles(acc: ptr<function, array<array<f32, 4>, 4>>, lid3: vec3u) {
  let tx = lid3.x;
  let ty = lid3.y;
  workgroupBarrier();
  for (var r = 0u; r < BK; r++) {
    var av: array<f32, 4>;
    var bv: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) {
      av[i] = tileA[r * BT + ty + i * TS];
      bv[i] = tileB[r * BT + tx + i * TS];
    }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        (*acc)[i][j] += av[i] * bv[j];
      }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(16, 16)
fn dx(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u,
      @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * BT;
  let k0 = wid.x * BT;
  let tx = lid3.x;
  let ty = lid3.y;
  var acc: array<array<f32, 4>, 4>;
  for (var n0 = 0u; n0 < p.N; n0 += BK) {
    for (var t = 0u; t < 4u; t++) {
      let e = lid + t * WG;
      // dY tile: 64 rows m x 16 cols n, read along n, stored [n][m]
      let mm = e / BK;
      let na = e % BK;
      var a = 0.0;
      if (m0 + mm < p.M && n0 + na < p.N) {
        a = dy[(m0 + mm) * p.ldy + p.n_off + n0 + na];
      }
      tileA[na * BT + mm] = a;
      // W tile: 16 rows n x 64 cols k, read along k, stored [n][k]
      let nb = e / BT;
      let kk = e % BT;
      var b = 0.0;
      if (n0 + nb < p.N && k0 + kk < p.K) {
        b = weight_nk(n0 + nb, k0 + kk, p.K);
      }
      tileB[nb * BT + kk] = b;
    }
    multiply_tiles(&acc, lid3);
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty + i * TS;
    if (m >= p.M) {
      continue;
    }
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + tx + j * TS;
      if (k < p.K) {
        let o = m * p.K + k;
        if (ACCUMULATE) {
          dx_out[o] += acc[i][j];
        } else {
          dx_out[o] = acc[i][j];
        }
      }
    }
  }
}

@compute @workgroup_size(16, 16)
fn score(grid: Grid, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n0 = grid.wid.y * BT;
  let k0 = grid.wid.x * BT;
  let tx = lid3.x;
  let ty = lid3.y;
  var acc: array<array<f32, 4>, 4>;
  for (var m0 = 0u; m0 < p.M; m0 += BK) {
    for (var t = 0u; t < 4u; t++) {
      let e = lid + t * WG;
      let mm = e / BT;
      let cc = e % BT;
      var a = 0.0;
      var b = 0.0;
      if (m0 + mm < p.M) {
        if (n0 + cc < p.N) {
          a = dy[(m0 + mm) * p.ldy + p.n_off + n0 + cc];
        }
        if (k0 + cc < p.K) {
          b = x[(m0 + mm) * p.K + k0 + cc];
        }
      }
      tileA[mm * BT + cc] = a;  // [m][n]
      tileB[mm * BT + cc] = b;  // [m][k]
    }
    multiply_tiles(&acc, lid3);
  }
  var s = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + ty + i * TS;
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + tx + j * TS;
      if (n < p.N && k < p.K) {
        s += abs(weight_nk(n, k, p.K) * acc[i][j]);
      }
    }
  }
  let total = tree_sum(lid, s);
  if (lid == 0u) {
    partials[group_index(grid)] = total;
  }
}

// ---------------------------------------------------------------- CPU adapters

// Columns c .. c+3 (lo) and c+4 .. c+7 (hi) of one row of an 8x8 block.
struct Row8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

struct Block8 {
  r0: Row8, r1: Row8, r2: Row8, r3: Row8, r4: Row8, r5: Row8, r6: Row8, r7: Row8,
}

// Element loads that read 0 past the matrix (the out-of-range index itself is safe: robust buffer access).
fn dy_at(m: u32, n: u32) -> f32 {
  return select(0.0, dy[m * p.ldy + p.n_off + n], m < p.M && n < p.N);
}

fn w_at(n: u32, k: u32) -> f32 {
  return select(0.0, weight_nk(n, k, p.K), n < p.N && k < p.K);
}

fn x_at(m: u32, k: u32) -> f32 {
  return select(0.0, x[m * p.K + k], m < p.M && k < p.K);
}

fn w_row8(n: u32, k: u32) -> Row8 {
  return Row8(vec4<f32>(w_at(n, k), w_at(n, k + 1u), w_at(n, k + 2u), w_at(n, k + 3u)),
              vec4<f32>(w_at(n, k + 4u), w_at(n, k + 5u), w_at(n, k + 6u), w_at(n, k + 7u)));
}

fn x_row8(m: u32, k: u32) -> Row8 {
  return Row8(vec4<f32>(x_at(m, k), x_at(m, k + 1u), x_at(m, k + 2u), x_at(m, k + 3u)),
              vec4<f32>(x_at(m, k + 4u), x_at(m, k + 5u), x_at(m, k + 6u), x_at(m, k + 7u)));
}

// dY[m .. m+7, n] (a column of the block's 8 rows) and dY[m, n .. n+7] (a row of 8 columns).
fn dy_col8(m: u32, n: u32) -> Row8 {
  return Row8(vec4<f32>(dy_at(m, n), dy_at(m + 1u, n), dy_at(m + 2u, n), dy_at(m + 3u, n)),
              vec4<f32>(dy_at(m + 4u, n), dy_at(m + 5u, n), dy_at(m + 6u, n), dy_at(m + 7u, n)));
}

fn dy_row8(m: u32, n: u32) -> Row8 {
  return Row8(vec4<f32>(dy_at(m, n), dy_at(m, n + 1u), dy_at(m, n + 2u), dy_at(m, n + 3u)),
              vec4<f32>(dy_at(m, n + 4u), dy_at(m, n + 5u), dy_at(m, n + 6u), dy_at(m, n + 7u)));
}

fn zero_block() -> Block8 {
  let z = Row8(vec4<f32>(0.0), vec4<f32>(0.0));
  return Block8(z, z, z, z, z, z, z, z);
}

fn axpy8(r: Row8, a: f32, b: Row8) -> Row8 {
  return Row8(r.lo + a * b.lo, r.hi + a * b.hi);
}

// c += a b^T for a column a = (a.lo, a.hi) of 8 rows and a row b of 8 columns.
fn outer8(c: Block8, a: Row8, b: Row8) -> Block8 {
  return Block8(axpy8(c.r0, a.lo.x, b), axpy8(c.r1, a.lo.y, b), axpy8(c.r2, a.lo.z, b), axpy8(c.r3, a.lo.w, b),
                axpy8(c.r4, a.hi.x, b), axpy8(c.r5, a.hi.y, b), axpy8(c.r6, a.hi.z, b), axpy8(c.r7, a.hi.w, b));
}

// Block coordinates (first row, first column) of thread t over ceil(rows/8) x ceil(cols/8) blocks.
fn block_of(grid: Grid, lid: u32, rows: u32, cols: u32) -> vec3u {
  let t = thread_index(grid, lid, 64u);
  let bc = (cols + 7u) / 8u;
  return vec3u((t / bc) * 8u, (t % bc) * 8u, select(0u, 1u, t < ((rows + 7u) / 8u) * bc));
}

fn store_dx1(m: u32, k: u32, v: f32) {
  if (m < p.M && k < p.K) {
    let o = m * p.K + k;
    if (ACCUMULATE) {
      dx_out[o] += v;
    } else {
      dx_out[o] = v;
    }
  }
}

fn store_dx(m: u32, k: u32, r: Row8) {
  store_dx1(m, k, r.lo.x);
  store_dx1(m, k + 1u, r.lo.y);
  store_dx1(m, k + 2u, r.lo.z);
  store_dx1(m, k + 3u, r.lo.w);
  store_dx1(m, k + 4u, r.hi.x);
  store_dx1(m, k + 5u, r.hi.y);
  store_dx1(m, k + 6u, r.hi.z);
  store_dx1(m, k + 7u, r.hi.w);
}

// The 8x8 block of dX at rows m.., columns k.. (what lies past M / K is not stored).
fn store_block(m: u32, k: u32, c: Block8) {
  store_dx(m, k, c.r0);
  store_dx(m + 1u, k, c.r1);
  store_dx(m + 2u, k, c.r2);
  store_dx(m + 3u, k, c.r3);
  store_dx(m + 4u, k, c.r4);
  store_dx(m + 5u, k, c.r5);
  store_dx(m + 6u, k, c.r6);
  store_dx(m + 7u, k, c.r7);
}

@compute @workgroup_size(64)
fn dx_direct(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let blk = block_of(grid, lid, p.M, p.K);
  if (blk.z == 0u) {
    return;
  }
  let m = blk.x;
  let k = blk.y;
  var c = zero_block();
  for (var n = 0u; n < p.N; n++) {
    c = outer8(c, dy_col8(m, n), w_row8(n, k));
  }
  store_block(m, k, c);
}

// dY[min(m, M - 1), n .. n+3] (n % 4 == 0, ldy and n_off % 4 == 0).
fn dy_quad(m: u32, n: u32) -> vec4<f32> {
  return dy4[(min(m, p.M - 1u) * p.ldy + p.n_off + n) >> 2u];
}

// W[n, k .. k+7] of a float weight (k % 8 == 0, K % 8 == 0) from whole words.
fn w_row8_words(n: u32, k: u32) -> Row8 {
  let e = n * p.K + k;
  if (W_F16) {
    let i = e >> 1u;
    return Row8(f16x4(w[i], w[i + 1u]), f16x4(w[i + 2u], w[i + 3u]));
  }
  return Row8(bitcast<vec4<f32>>(vec4<u32>(w[e], w[e + 1u], w[e + 2u], w[e + 3u])),
              bitcast<vec4<f32>>(vec4<u32>(w[e + 4u], w[e + 5u], w[e + 6u], w[e + 7u])));
}

@compute @workgroup_size(64)
fn dx_direct4(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let blk = block_of(grid, lid, p.M, p.K);
  if (blk.z == 0u) {
    return;
  }
  let m = blk.x;
  let k = blk.y;
  var c = zero_block();
  for (var n = 0u; n < p.N; n += 4u) {
    let d0 = dy_quad(m, n);
    let d1 = dy_quad(m + 1u, n);
    let d2 = dy_quad(m + 2u, n);
    let d3 = dy_quad(m + 3u, n);
    let d4 = dy_quad(m + 4u, n);
    let d5 = dy_quad(m + 5u, n);
    let d6 = dy_quad(m + 6u, n);
    let d7 = dy_quad(m + 7u, n);
    c = outer8(c, Row8(vec4<f32>(d0.x, d1.x, d2.x, d3.x), vec4<f32>(d4.x, d5.x, d6.x, d7.x)), w_row8_words(n, k));
    c = outer8(c, Row8(vec4<f32>(d0.y, d1.y, d2.y, d3.y), vec4<f32>(d4.y, d5.y, d6.y, d7.y)), w_row8_words(n + 1u, k));
    c = outer8(c, Row8(vec4<f32>(d0.z, d1.z, d2.z, d3.z), vec4<f32>(d4.z, d5.z, d6.z, d7.z)), w_row8_words(n + 2u, k));
    c = outer8(c, Row8(vec4<f32>(d0.w, d1.w, d2.w, d3.w), vec4<f32>(d4.w, d5.w, d6.w, d7.w)), w_row8_words(n + 3u, k));
  }
  store_block(m, k, c);
}

// sum_j |W[n, k + j] * dW_j| over the 8 columns of one row of the block (W reads 0 past N / K).
fn abs_w_dot(n: u32, k: u32, r: Row8) -> f32 {
  let w = w_row8(n, k);
  let a = abs(w.lo * r.lo) + abs(w.hi * r.hi);
  return a.x + a.y + a.z + a.w;
}

@compute @workgroup_size(64)
fn score_direct(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let blk = block_of(grid, lid, p.N, p.K);
  if (blk.z == 0u) {
    return;
  }
  let n = blk.x;
  let k = blk.y;
  var c = zero_block();
  for (var m = 0u; m < p.M; m++) {
    c = outer8(c, dy_row8(m, n), x_row8(m, k));
  }
  let s = abs_w_dot(n, k, c.r0) + abs_w_dot(n + 1u, k, c.r1) + abs_w_dot(n + 2u, k, c.r2) + abs_w_dot(n + 3u, k, c.r3) +
          abs_w_dot(n + 4u, k, c.r4) + abs_w_dot(n + 5u, k, c.r5) + abs_w_dot(n + 6u, k, c.r6) + abs_w_dot(n + 7u, k, c.r7);
  let t = thread_index(grid, lid, 64u);
  partials[t] = s;
}
