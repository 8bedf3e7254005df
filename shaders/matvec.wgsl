// Matrix-vector product for decode (M = 1..8 rows): memory-bound, every weight byte read once.
//   y[m, n] = sum_k x[m, k] * W[n, k]          (HF Linear weight W[N, K] = [out, in], "x W^T")
//
// entry point `main` (this file)  - cross-thread reduction in workgroup memory (portable fallback)
// entry point `main_sg`           - in matvec_subgroups.wgsl, which the wrapper puts in front of this file
//                                   (it starts with `enable subgroups;`): subgroupAdd, then one partial per
//                                   subgroup through workgroup memory. Chosen when the device has `subgroups`.
//   bindings : 0 uniform Params { M, N, K, ldy, n_off }   (M must equal the MB override)
//              1 x  : array<vec4<f32>>  activations [M, K] row-major f32
//              2 wg : array<vec4<u32>>  weight [N, K]: f32 bits, or f16 packed two per u32, element 2i in the
//                                       low half (W_F16); the gate weight for EPI = 2
//              3 wu : array<vec4<u32>>  up weight for EPI = 2; for EPI 0/1 bind the same buffer as wg (unread)
//              4 y  : array<f32>        output, element (m, n) at m*ldy + n_off + n
//   dispatch : one workgroup per R consecutive output rows n (all M batch rows at once): ceil(N/R) workgroups
//              spread over (x, y), group = wid.y*nwg.x + wid.x. The WG threads split K: thread i reads the
//              16-byte chunks i, i+WG, ... of each of its R weight rows (8 elements a chunk: one vec4<u32> of
//              packed f16, or two of f32) and dots them with the matching x elements.
//              Weights over the binding limit (LM head) are bound in row windows, one dispatch per window.
//   overrides: W_F16, VEC (K % 8 == 0: 16-byte chunk loads; else scalar loads, any K), EPI (0 y = acc,
//              1 y += acc in place (residual), 2 y = silu(acc_gate) * acc_up), MB (batch rows, 1..8),
//              R (rows per workgroup), WG (threads, power of two). Needs (EPI == 2 ? 2 : 1) * R * MB <= 32.
//   precision: f32; each thread accumulates its strided chunks, then a tree / subgroup reduction
//              (summation order differs from a sequential dot: error ~ 2^-24 * sqrt(K) * |x||w|).

override W_F16: bool = false;
override VEC: bool = false;
override EPI: u32 = 0u;
override MB: u32 = 1u;
override R: u32 = 4u;
override WG: u32 = 64u;

const NV_MAX: u32 = 32u;

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

// Per-thread partial sums: value j = part * R * MB + r * MB + m (part 1 = up projection).
var<private> acc: array<f32, NV_MAX>;
var<workgroup> red: array<f32, NV_MAX * WG>;

fn n_values() -> u32 {
  return select(1u, 2u, EPI == 2u) * R * MB;
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

// Eight weight elements starting at element e (e % 8 == 0) as two vec4.
fn w_chunk(up: bool, e: u32) -> array<vec4<f32>, 2> {
  if (W_F16) {
    let q = w_vec(up, e >> 3u);
    return array<vec4<f32>, 2>(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)),
                               vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)));
  }
  return array<vec4<f32>, 2>(bitcast<vec4<f32>>(w_vec(up, e >> 2u)), bitcast<vec4<f32>>(w_vec(up, (e >> 2u) + 1u)));
}

// Accumulates this thread's share of rows n0 .. n0 + R - 1 into acc.
fn accumulate(n0: u32, lid: u32) {
  for (var j = 0u; j < NV_MAX; j++) {
    acc[j] = 0.0;
  }
  let parts = select(1u, 2u, EPI == 2u);
  if (VEC) {
    let chunks = p.K >> 3u;
    for (var c = lid; c < chunks; c += WG) {
      for (var part = 0u; part < parts; part++) {
        for (var r = 0u; r < R; r++) {
          let n = min(n0 + r, p.N - 1u);
          let w = w_chunk(part == 1u, n * p.K + c * 8u);
          for (var m = 0u; m < MB; m++) {
            let xi = (m * p.K + c * 8u) >> 2u;
            let j = (part * R + r) * MB + m;
            acc[j] += dot(x[xi], w[0]) + dot(x[xi + 1u], w[1]);
          }
        }
      }
    }
  } else {
    for (var k = lid; k < p.K; k += WG) {
      for (var part = 0u; part < parts; part++) {
        for (var r = 0u; r < R; r++) {
          let wv = w_at(part == 1u, min(n0 + r, p.N - 1u) * p.K + k);
          for (var m = 0u; m < MB; m++) {
            let xe = m * p.K + k;
            acc[(part * R + r) * MB + m] += x[xe >> 2u][xe & 3u] * wv;
          }
        }
      }
    }
  }
}

fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

// Thread j < R * MB writes output (m, n0 + r) from the reduced value(s) held in red[j * WG] (and
// red[(j + R * MB) * WG] for the up projection).
fn write_out(n0: u32, j: u32) {
  if (j >= R * MB) {
    return;
  }
  let r = j / MB;
  let m = j - r * MB;
  let n = n0 + r;
  if (n >= p.N) {
    return;
  }
  let v = red[j * WG];
  let o = m * p.ldy + p.n_off + n;
  if (EPI == 0u) {
    y[o] = v;
  } else if (EPI == 1u) {
    y[o] = y[o] + v;
  } else {
    y[o] = silu(v) * red[(j + R * MB) * WG];
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n0 = (wid.y * nwg.x + wid.x) * R;
  if (n0 >= p.N) {
    return;
  }
  accumulate(n0, lid);
  let nv = n_values();
  for (var j = 0u; j < nv; j++) {
    red[j * WG + lid] = acc[j];
  }
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      for (var j = 0u; j < nv; j++) {
        red[j * WG + lid] += red[j * WG + lid + stride];
      }
    }
    workgroupBarrier();
  }
  write_out(n0, lid);
}
