// Tiled matrix multiply for prefill / scoring (M = B*T rows, up to thousands):
//   y[m, n] = sum_k x[m, k] * W[n, k]          (HF Linear weight W[N, K] = [out, in], "x W^T")
//
// entry point `main`
//   bindings : 0 uniform Params { M, N, K, ldy, n_off }
//              1 x  : array<vec4<f32>>  activations [M, K] row-major f32 (viewed as vec4; buffer 16-byte padded)
//              2 wg : array<vec4<u32>>  weight [N, K] row-major: f32 bits, or f16 packed two per u32 with
//                                       element 2i in the low half (W_F16). The gate weight for EPI = 2.
//              3 wu : array<vec4<u32>>  up weight [N, K] for EPI = 2; for EPI 0/1 bind the same buffer as wg
//                                       (two read-only bindings of one buffer are allowed; it is never read)
//              4 y  : array<f32>        output, element (m, n) at m*ldy + n_off + n (ldy >= n_off + N)
//   dispatch : one workgroup of 16x16 threads per BM x BN = 64 x 64 output tile; tiles numbered
//              t = wid.y*nwg.x + wid.x, tile row = t / ceil(N/64), tile col = t % ceil(N/64).
//              Large weights (LM head) are bound in row windows: one dispatch per window, each with its own
//              Params (N = rows in the window, n_off = first row), writing its columns of y.
//   overrides: W_F16 (weight storage)
//              VEC   true when K % 4 == 0: 16-byte loads (x: vec4<f32>; weights: vec4<u32> = 4 f32 or 8 f16,
//                    of which the 4 halves of the tile column are used); false: scalar loads, any K.
//              EPI   epilogue: 0 y = acc; 1 y = y + acc (residual add in place: y holds the residual stream);
//                    2 y = silu(acc_gate) * acc_up  (SwiGLU from gate and up weights in one pass)
//   tiling   : BK = 16; x and W tiles are staged transposed in workgroup memory as vec4 (12 KiB with EPI 2);
//              each thread accumulates a 4x4 block (two with EPI 2) with vec4 FMAs.
//   precision: f32 accumulation in k order within each thread (no split-K): error ~ sqrt(K) * 2^-24 * |x||w|.

override W_F16: bool = false;
override VEC: bool = false;
override EPI: u32 = 0u;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  ldy: u32,
  n_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wg: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> wu: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Tiles stored k-major: element (k, i) lives at [k * (B/4) + i/4][i % 4].
var<workgroup> xs: array<vec4<f32>, 256>;
var<workgroup> gs: array<vec4<f32>, 256>;
var<workgroup> us: array<vec4<f32>, 256>;

fn x_at(i: u32) -> f32 {
  return x[i >> 2u][i & 3u];
}

fn w_vec(up: bool, j: u32) -> vec4<u32> {
  if (up) {
    return wu[j];
  }
  return wg[j];
}

fn w_at(up: bool, i: u32) -> f32 {
  if (W_F16) {
    let word = i >> 1u;
    let pair = unpack2x16float(w_vec(up, word >> 2u)[word & 3u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(w_vec(up, i >> 2u)[i & 3u]);
}

// Four consecutive x elements of row m from column k (zeros past the matrix).
fn load_x4(m: u32, k: u32) -> vec4<f32> {
  if (m >= p.M) {
    return vec4<f32>(0.0);
  }
  let i = m * p.K + k;
  if (VEC) {
    if (k >= p.K) {
      return vec4<f32>(0.0);
    }
    return x[i >> 2u];
  }
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) {
      v[c] = x_at(i + c);
    }
  }
  return v;
}

// Four consecutive weight elements of row n from column k (zeros past the matrix).
fn load_w4(up: bool, n: u32, k: u32) -> vec4<f32> {
  if (n >= p.N) {
    return vec4<f32>(0.0);
  }
  let i = n * p.K + k;
  if (VEC) {
    if (k >= p.K) {
      return vec4<f32>(0.0);
    }
    if (W_F16) {
      let q = w_vec(up, i >> 3u);
      let h = select(q.xy, q.zw, (i & 4u) != 0u);
      return vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y));
    }
    return bitcast<vec4<f32>>(w_vec(up, i >> 2u));
  }
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) {
      v[c] = w_at(up, i + c);
    }
  }
  return v;
}

fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let tiles_n = (p.N + BN - 1u) / BN;
  let tile = wid.y * nwg.x + wid.x;
  if (tile >= tiles_n * ((p.M + BM - 1u) / BM)) {
    return;
  }
  let m0 = (tile / tiles_n) * BM;
  let n0 = (tile % tiles_n) * BN;
  // Loader geometry: row lr of the tile, 4 columns from lk.
  let lr = t >> 2u;
  let lk = (t & 3u) * 4u;
  // Compute geometry: rows m0 + ty*4 .. +3, columns n0 + tx*4 .. +3.
  let tx = t & 15u;
  let ty = t >> 4u;

  var acc: array<vec4<f32>, 4>;
  var accu: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    let xv = load_x4(m0 + lr, k0 + lk);
    let gv = load_w4(false, n0 + lr, k0 + lk);
    for (var c = 0u; c < 4u; c++) {
      let slot = (lk + c) * (BM / 4u) + (lr >> 2u);
      xs[slot][lr & 3u] = xv[c];
      gs[slot][lr & 3u] = gv[c];
    }
    if (EPI == 2u) {
      let uv = load_w4(true, n0 + lr, k0 + lk);
      for (var c = 0u; c < 4u; c++) {
        us[(lk + c) * (BN / 4u) + (lr >> 2u)][lr & 3u] = uv[c];
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = xs[kk * (BM / 4u) + ty];
      let b = gs[kk * (BN / 4u) + tx];
      for (var i = 0u; i < 4u; i++) {
        acc[i] = fma(vec4<f32>(a[i]), b, acc[i]);
      }
      if (EPI == 2u) {
        let bu = us[kk * (BN / 4u) + tx];
        for (var i = 0u; i < 4u; i++) {
          accu[i] = fma(vec4<f32>(a[i]), bu, accu[i]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m >= p.M) {
      break;
    }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (n < p.N) {
        let o = m * p.ldy + p.n_off + n;
        if (EPI == 0u) {
          y[o] = acc[i][j];
        } else if (EPI == 1u) {
          y[o] = y[o] + acc[i][j];
        } else {
          y[o] = silu(acc[i][j]) * accu[i][j];
        }
      }
    }
  }
}
