// Causal GQA attention backward (FlashAttention-2 style recomputation, no T x T matrix stored),
// from the forward's output O and per-row logsumexp (attention.wgsl `prefill` / `prefill_direct`).
//
// Layout: rows = B*T batch-major, position of row r = r mod T, causal within each sequence.
//   q, o, dO, dQ : [rows, H * D]   head h = cols h*D .. h*D + D-1
//   k, v, dK, dV : [rows, KVH * D] query head h reads kv head h / (H / KVH)
//   lse, delta   : [rows, H]       lse[r*H + h] = logsumexp_j(s_rj), delta[r*H + h] = rowsum(dO * O)
//   s_ij = scale * q_i . k_j, P = softmax_j(s) (j <= i, same sequence; with a sliding window W > 0 also
//   j > i - W, as the forward's first_key)
// Gradients: dV_j = sum_i P_ij dO_i;  dP_ij = dO_i . v_j;  dS_ij = P_ij (dP_ij - delta_i);
//            dQ_i = scale sum_j dS_ij k_j;  dK_j = scale sum_i dS_ij q_i  (dK, dV summed over the
//            H/KVH query heads sharing kv head g, inside one workgroup: no atomics, deterministic).
// All entry points: workgroup WG threads (override, power of two), 1-D work index
// idx = group_index(grid); vectors of one head cached in workgroup memory (D <= MAX_D, override);
// keys (or queries) processed in chunks of WG, one per thread (dot products over D in f32, in order),
// then each thread owns the output dims d = lid, lid + WG, ... and sums the chunk in order.
// Params: { rows, seq_len, heads, kv_heads, head_dim, scale (f32), window (0 = none) }.
//
// entry point `dq` (run first)
//   bindings : 0 params, 1 q, 2 k, 3 v, 6 o, 7 lse, 8 d_o, 9 dq_out [rows, H*D] (written),
//              10 delta_out [rows, H] (written, read by `dkv`)
//   dispatch : rows * H workgroups, idx = row * H + h
//
// entry point `dkv` (after `dq`, same pass)
//   bindings : 0 params, 1 q, 2 k, 3 v, 7 lse, 8 d_o, 11 delta, 12 dk_out, 13 dv_out [rows, KVH*D] (written)
//   dispatch : rows * KVH workgroups, idx = row * KVH + g; the workgroup loops over the H/KVH query
//              heads of group g and the queries i >= j of row j's sequence.
//
// entry points `dq_direct`, `dkv_direct`: the same results without workgroup memory, for CPU adapters
//   (SwiftShader), as attention.wgsl's `prefill_direct`: one thread per (b, h, t) (dq) or (b, g, t) (dkv),
//   64 a workgroup over (x, y), t fastest so neighbouring threads read the same rows; vec4 views (head_dim
//   a multiple of 4). The accumulators live in the outputs themselves (a CPU's cache holds them).
//   bindings : as `dq` / `dkv` (q4, k4, v4, o4, d_o4, dq_out4, dk_out4, dv_out4 are vec4 views).
//   why      : the workgroup kernels' barriers per key chunk are coroutine switches of every thread on
//              a CPU; SwiftShader, the embedded model (T 256, H 4 / 2, D 32): dq + dkv took 5.9x the
//              forward attention's time with the workgroup kernels, 4.0x here
//   precision: keys (queries) in tiles of 4, in order; dot products over D in vec4 steps.

//#include "lib/grid.wgsl"
//#include "lib/reduce.wgsl"

override WG: u32 = 64u;
override MAX_D: u32 = 256u;

struct Params {
  rows: u32,
  seq_len: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  scale: f32,
  window: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read> o: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read> d_o: array<f32>;
@group(0) @binding(9) var<storage, read_write> dq_out: array<f32>;
@group(0) @binding(10) var<storage, read_write> delta_out: array<f32>;
@group(0) @binding(11) var<storage, read> delta: array<f32>;
@group(0) @binding(12) var<storage, read_write> dk_out: array<f32>;
@group(0) @binding(13) var<storage, read_write> dv_out: array<f32>;

var<workgroup> vec_a: array<f32, MAX_D>;  // q_i (dq) or k_j (dkv)
var<workgroup> vec_b: array<f32, MAX_D>;  // dO_i (dq) or v_j (dkv)
var<workgroup> acc_a: array<f32, MAX_D>;  // dQ_i (dq), dK_j (dkv)
var<workgroup> acc_b: array<f32, MAX_D>;  // dV_j (dkv)
var<workgroup> chunk_a: array<f32, WG>;
var<workgroup> chunk_b: array<f32, WG>;

const NEG_BIG: f32 = -3.402823e38;

// Dot products of a cached head vector with a row of a storage tensor, over D in order.
fn dot_a_k(base: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.head_dim; d++) {
    s += vec_a[d] * k[base + d];
  }
  return s;
}

fn dot_b_v(base: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.head_dim; d++) {
    s += vec_b[d] * v[base + d];
  }
  return s;
}

fn dot_a_q(base: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.head_dim; d++) {
    s += vec_a[d] * q[base + d];
  }
  return s;
}

fn dot_b_do(base: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.head_dim; d++) {
    s += vec_b[d] * d_o[base + d];
  }
  return s;
}

// Where the (row, head) work item idx = row * H + h reads: its sequence's keys 0..t, its kv head.
struct QueryRow {
  kv_stride: u32,  // KVH * D
  kv_offset: u32,  // kv head * D
  first_key: u32,  // row of the first key it sees (position 0 of the sequence, or t - W + 1 with a window)
  keys: u32,       // t + 1 (causal), at most W
  q_offset: u32,   // row * H * D + h * D
}

fn query_row(idx: u32) -> QueryRow {
  let D = p.head_dim;
  let i = idx / p.heads;
  let h = idx % p.heads;
  let t = i % p.seq_len;
  let lo = select(0u, t + 1u - p.window, p.window > 0u && t >= p.window);
  return QueryRow(p.kv_heads * D, (h / (p.heads / p.kv_heads)) * D, i - t + lo, t + 1u - lo, i * p.heads * D + h * D);
}

// acc_a[d] += sum_{jj < cnt} chunk_a[jj] * k[base + jj * stride + d] for the dims d this thread owns.
fn accumulate_keys(lid: u32, cnt: u32, base: u32, stride: u32) {
  for (var d = lid; d < p.head_dim; d += WG) {
    var a = acc_a[d];
    for (var jj = 0u; jj < cnt; jj++) {
      a += chunk_a[jj] * k[base + jj * stride + d];
    }
    acc_a[d] = a;
  }
}

@compute @workgroup_size(WG)
fn dq(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let idx = group_index(grid);
  if (idx >= p.rows * p.heads) {
    return;
  }
  let D = p.head_dim;
  let r = query_row(idx);
  let kvs = r.kv_stride;
  let kvo = r.kv_offset;
  let b0 = r.first_key;
  let n = r.keys;
  let qbase = r.q_offset;
  var dd = 0.0;
  for (var d = lid; d < D; d += WG) {
    vec_a[d] = q[qbase + d];
    vec_b[d] = d_o[qbase + d];
    acc_a[d] = 0.0;
    dd += d_o[qbase + d] * o[qbase + d];
  }
  let delta_i = tree_sum(lid, dd);  // its barriers also publish vec_a / vec_b
  let lse_i = lse[idx];
  for (var c0 = 0u; c0 < n; c0 += WG) {
    let j = c0 + lid;
    var ds = 0.0;
    if (j < n) {
      let kv = (b0 + j) * kvs + kvo;
      let pj = exp(p.scale * dot_a_k(kv) - lse_i);
      ds = pj * (dot_b_v(kv) - delta_i);
    }
    chunk_a[lid] = ds;
    workgroupBarrier();
    accumulate_keys(lid, min(WG, n - c0), (b0 + c0) * kvs + kvo, kvs);
    workgroupBarrier();
  }
  for (var d = lid; d < D; d += WG) {
    dq_out[qbase + d] = p.scale * acc_a[d];
  }
  if (lid == 0u) {
    delta_out[idx] = delta_i;
  }
}

@compute @workgroup_size(WG)
fn dkv(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let idx = group_index(grid);
  if (idx >= p.rows * p.kv_heads) {
    return;
  }
  let D = p.head_dim;
  let j = idx / p.kv_heads;
  let g = idx % p.kv_heads;
  let gsize = p.heads / p.kv_heads;
  let qs = p.heads * D;
  let kvbase = j * p.kv_heads * D + g * D;
  // queries j .. end of j's sequence, or the W - 1 after j with a window
  let nq = select(p.seq_len - j % p.seq_len, min(p.seq_len - j % p.seq_len, p.window), p.window > 0u);
  for (var d = lid; d < D; d += WG) {
    vec_a[d] = k[kvbase + d];
    vec_b[d] = v[kvbase + d];
    acc_a[d] = 0.0;
    acc_b[d] = 0.0;
  }
  workgroupBarrier();
  for (var hh = 0u; hh < gsize; hh++) {
    let h = g * gsize + hh;
    for (var c0 = 0u; c0 < nq; c0 += WG) {
      var pi = 0.0;
      var ds = 0.0;
      if (c0 + lid < nq) {
        let i = j + c0 + lid;
        let qo = i * qs + h * D;
        pi = exp(p.scale * dot_a_q(qo) - lse[i * p.heads + h]);
        ds = pi * (dot_b_do(qo) - delta[i * p.heads + h]);
      }
      chunk_a[lid] = pi;
      chunk_b[lid] = ds;
      workgroupBarrier();
      let cnt = min(WG, nq - c0);
      for (var d = lid; d < D; d += WG) {
        var a = acc_a[d];
        var b = acc_b[d];
        for (var ii = 0u; ii < cnt; ii++) {
          let off = (j + c0 + ii) * qs + h * D + d;
          a += chunk_b[ii] * q[off];
          b += chunk_a[ii] * d_o[off];
        }
        acc_a[d] = a;
        acc_b[d] = b;
      }
      workgroupBarrier();
    }
  }
  for (var d = lid; d < D; d += WG) {
    dk_out[kvbase + d] = p.scale * acc_a[d];
    dv_out[kvbase + d] = acc_b[d];
  }
}

// ---------------------------------------------------------------- without workgroup memory

@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> o4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> d_o4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dq_out4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> dk_out4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> dv_out4: array<vec4<f32>>;

// Dot products of row a (vec4 index) with 4 rows b0..b3, over D4 vec4s.
fn dots4_q_k(a: u32, b: vec4<u32>, D4: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var d = 0u; d < D4; d++) {
    let x = q4[a + d];
    s += vec4<f32>(dot(x, k4[b.x + d]), dot(x, k4[b.y + d]), dot(x, k4[b.z + d]), dot(x, k4[b.w + d]));
  }
  return s;
}

fn dots4_do_v(a: u32, b: vec4<u32>, D4: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var d = 0u; d < D4; d++) {
    let x = d_o4[a + d];
    s += vec4<f32>(dot(x, v4[b.x + d]), dot(x, v4[b.y + d]), dot(x, v4[b.z + d]), dot(x, v4[b.w + d]));
  }
  return s;
}

// The same with one row b of k (v) against 4 rows a0..a3 of q (dO).
fn dots4_k_q(b: u32, a: vec4<u32>, D4: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var d = 0u; d < D4; d++) {
    let x = k4[b + d];
    s += vec4<f32>(dot(x, q4[a.x + d]), dot(x, q4[a.y + d]), dot(x, q4[a.z + d]), dot(x, q4[a.w + d]));
  }
  return s;
}

fn dots4_v_do(b: u32, a: vec4<u32>, D4: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var d = 0u; d < D4; d++) {
    let x = v4[b + d];
    s += vec4<f32>(dot(x, d_o4[a.x + d]), dot(x, d_o4[a.y + d]), dot(x, d_o4[a.z + d]), dot(x, d_o4[a.w + d]));
  }
  return s;
}

@compute @workgroup_size(64)
fn dq_direct(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let idx = thread_index(grid, lid, 64u);
  if (idx >= p.rows * p.heads) {
    return;
  }
  let D4 = p.head_dim / 4u;
  let T = p.seq_len;
  let t = idx % T;
  let h = (idx / T) % p.heads;
  let b = idx / (T * p.heads);
  let i = b * T + t;
  let g = h / (p.heads / p.kv_heads);
  let qb = (i * p.heads + h) * D4;
  var delta_i = 0.0;
  for (var d = 0u; d < D4; d++) {
    delta_i += dot(d_o4[qb + d], o4[qb + d]);
    dq_out4[qb + d] = vec4<f32>(0.0);
  }
  let lse_i = lse[i * p.heads + h];
  let lo = select(0u, t + 1u - p.window, p.window > 0u && t >= p.window);
  // keys in tiles of 4 from lo: those past t read row t (clamped, in the sequence) and are masked
  for (var k0 = lo; k0 <= t; k0 += 4u) {
    let keys = vec4<u32>(k0, k0 + 1u, k0 + 2u, k0 + 3u);
    let kb = ((b * T + min(keys, vec4<u32>(t))) * p.kv_heads + g) * D4;
    let pr = exp(p.scale * dots4_q_k(qb, kb, D4) - lse_i);
    let ds = select(vec4<f32>(0.0), pr * (dots4_do_v(qb, kb, D4) - delta_i), keys <= vec4<u32>(t));
    for (var d = 0u; d < D4; d++) {
      dq_out4[qb + d] += ds.x * k4[kb.x + d] + ds.y * k4[kb.y + d] + ds.z * k4[kb.z + d] + ds.w * k4[kb.w + d];
    }
  }
  for (var d = 0u; d < D4; d++) {
    dq_out4[qb + d] *= p.scale;
  }
  delta_out[i * p.heads + h] = delta_i;
}

@compute @workgroup_size(64)
fn dkv_direct(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let idx = thread_index(grid, lid, 64u);
  if (idx >= p.rows * p.kv_heads) {
    return;
  }
  let D4 = p.head_dim / 4u;
  let T = p.seq_len;
  let t = idx % T;
  let g = (idx / T) % p.kv_heads;
  let b = idx / (T * p.kv_heads);
  let j = b * T + t;
  let gsize = p.heads / p.kv_heads;
  let kb = (j * p.kv_heads + g) * D4;
  for (var d = 0u; d < D4; d++) {
    dk_out4[kb + d] = vec4<f32>(0.0);
    dv_out4[kb + d] = vec4<f32>(0.0);
  }
  // queries t .. end - 1 of the sequence (end: T, or t + W with a window), in tiles of 4; those at or
  // past end read row end - 1 (clamped) and are masked
  let end = select(T, min(T, t + p.window), p.window > 0u);
  let last = vec4<u32>(end - 1u);
  for (var hh = 0u; hh < gsize; hh++) {
    let h = g * gsize + hh;
    for (var i0 = t; i0 < end; i0 += 4u) {
      let qs = vec4<u32>(i0, i0 + 1u, i0 + 2u, i0 + 3u);
      let rows = b * T + min(qs, last);
      let qb = (rows * p.heads + h) * D4;
      let li = rows * p.heads + h;
      let valid = qs < vec4<u32>(end);
      let pr = select(vec4<f32>(0.0), exp(p.scale * dots4_k_q(kb, qb, D4) - vec4<f32>(lse[li.x], lse[li.y], lse[li.z], lse[li.w])), valid);
      let ds = pr * (dots4_v_do(kb, qb, D4) - vec4<f32>(delta[li.x], delta[li.y], delta[li.z], delta[li.w]));
      for (var d = 0u; d < D4; d++) {
        dv_out4[kb + d] += pr.x * d_o4[qb.x + d] + pr.y * d_o4[qb.y + d] + pr.z * d_o4[qb.z + d] + pr.w * d_o4[qb.w + d];
        dk_out4[kb + d] += ds.x * q4[qb.x + d] + ds.y * q4[qb.y + d] + ds.z * q4[qb.z + d] + ds.w * q4[qb.w + d];
      }
    }
  }
  for (var d = 0u; d < D4; d++) {
    dk_out4[kb + d] *= p.scale;
  }
}
