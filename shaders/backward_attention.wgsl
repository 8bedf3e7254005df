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
