// Linear layer backward for y = x W^T with a Hugging Face weight W[N, K] (out, in):
//   dX = dY W                       ([M, N] x [N, K] -> [M, K])
//   S  = sum_{n,k} |W[n,k] * dW[n,k]|   with dW = dY^T X (dW[n,k] = sum_m dY[m,n] X[m,k])
// The Taylor score S is fused: dW is formed one 64x64 tile at a time in registers, multiplied by W
// and reduced to one partial sum per workgroup, so dW never exists in global memory. The partial
// sums are then reduced by backward_reduce.wgsl into the score slot.
//
// Common: activations f32 row-major, rows = B*T; W bound as array<u32>, decoded by W_F16 (f32 bits,
// or f16 packed two per u32 with element 2i in the low half). Workgroup 16x16 threads, each thread
// owns a 4x4 register block of the 64x64 output tile (rows ty + 16 i, cols tx + 16 j); the reduction
// dimension is staged through workgroup memory 16 at a time. Sizes need not be multiples of 64 or 16
// (out-of-range loads read 0, out-of-range outputs are not stored).
//
// entry point `dx`
//   bindings : 0 uniform Params { M, N, K }
//              1 dy : array<f32> [M, N]
//              2 w  : array<u32> [N, K] (W_F16)
//              3 dx_out : array<f32> [M, K], read_write; overwritten, or dx += dY W when ACCUMULATE
//   dispatch : (ceil(K / 64), ceil(M / 64)); workgroup (x, y) computes dX[64y.., 64x..]
//   precision: f32 products accumulated over n in order (one running sum per output).
//
// entry point `score`
//   bindings : 0 uniform Params { M, N, K }
//              1 dy       : array<f32> [M, N]
//              2 w        : array<u32> [N, K] (W_F16)
//              4 x        : array<f32> [M, K] (the layer input of the forward pass)
//              5 partials : array<f32> [ceil(K/64) * ceil(N/64)]; partials[y * nwg.x + x] = sum over
//                           the tile of |W * dW|
//   dispatch : (ceil(K / 64), ceil(N / 64)); workgroup (x, y) owns dW[64y.., 64x..] and loops over all
//              M rows (the whole batch must be in one call: |.| is taken after the sum over rows)
//   precision: dW accumulated over m in order in f32; |W dW| summed per thread then a pairwise tree.

override W_F16: bool = false;
override ACCUMULATE: bool = false;

const TS: u32 = 16u;   // threads per tile side
const BT: u32 = 64u;   // tile side
const BK: u32 = 16u;   // reduction depth staged per step
const NT: u32 = 256u;  // threads per workgroup

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx_out: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> tileA: array<f32, 1024>;  // [BK][BT]
var<workgroup> tileB: array<f32, 1024>;  // [BK][BT]
var<workgroup> red: array<f32, NT>;

fn weight(i: u32) -> f32 {
  if (W_F16) {
    let pair = unpack2x16float(w[i >> 1u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(w[i]);
}

// acc[i][j] += sum_r tileA[r][ty + 16 i] * tileB[r][tx + 16 j] over the BK staged rows r.
fn multiply_tiles(acc: ptr<function, array<array<f32, 4>, 4>>, tx: u32, ty: u32) {
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
      let e = lid + t * NT;
      // dY tile: 64 rows m x 16 cols n, read along n, stored [n][m]
      let mm = e / BK;
      let na = e % BK;
      var a = 0.0;
      if (m0 + mm < p.M && n0 + na < p.N) {
        a = dy[(m0 + mm) * p.N + n0 + na];
      }
      tileA[na * BT + mm] = a;
      // W tile: 16 rows n x 64 cols k, read along k, stored [n][k]
      let nb = e / BT;
      let kk = e % BT;
      var b = 0.0;
      if (n0 + nb < p.N && k0 + kk < p.K) {
        b = weight((n0 + nb) * p.K + k0 + kk);
      }
      tileB[nb * BT + kk] = b;
    }
    workgroupBarrier();
    multiply_tiles(&acc, tx, ty);
    workgroupBarrier();
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
fn score(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.y * BT;
  let k0 = wid.x * BT;
  let tx = lid3.x;
  let ty = lid3.y;
  var acc: array<array<f32, 4>, 4>;
  for (var m0 = 0u; m0 < p.M; m0 += BK) {
    for (var t = 0u; t < 4u; t++) {
      let e = lid + t * NT;
      let mm = e / BT;
      let cc = e % BT;
      var a = 0.0;
      var b = 0.0;
      if (m0 + mm < p.M) {
        if (n0 + cc < p.N) {
          a = dy[(m0 + mm) * p.N + n0 + cc];
        }
        if (k0 + cc < p.K) {
          b = x[(m0 + mm) * p.K + k0 + cc];
        }
      }
      tileA[mm * BT + cc] = a;  // [m][n]
      tileB[mm * BT + cc] = b;  // [m][k]
    }
    workgroupBarrier();
    multiply_tiles(&acc, tx, ty);
    workgroupBarrier();
  }
  var s = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + ty + i * TS;
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + tx + j * TS;
      if (n < p.N && k < p.K) {
        s += abs(weight(n * p.K + k) * acc[i][j]);
      }
    }
  }
  red[lid] = s;
  workgroupBarrier();
  for (var stride = NT / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      red[lid] += red[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partials[wid.y * nwg.x + wid.x] = red[0];
  }
}
