// Token selection on the GPU: greedy argmax, top-k candidates (k <= 64), and the sampled draw among them.
// Order used everywhere: larger logit first, equal logits by smaller token id; NaN counts as -inf and
// +inf as the largest finite f32. Missing candidates (fewer than k elements) have id 0xffffffff, value -inf.
//
// entry point `argmax`   ids[r] = argmax_i logits[r, i]
//   bindings : 0 uniform Params { rows, n }  1 vals : array<f32> [rows, n]   4 out_i : array<u32> [rows]
//   dispatch : one workgroup of WG threads per row: rows workgroups over (x, y); strided scan + tree.
//
// entry point `topk`     one selection stage: the k best of each chunk of CHUNK elements of each row
//   bindings : 0 uniform Params { rows, n, nchunks, k, inv_temp }
//              1 vals  : array<f32> [rows, n]                   logits (first stage) or the previous stage's values
//              2 idx   : array<u32> [rows, n]                   later stages: the token ids of vals (the first
//                                                               stage's ids are the columns)
//              3 out_v : array<f32> [rows, nchunks, k]          candidates, best first
//              4 out_i : array<u32> [rows, nchunks, k]
//              5 lse   : array<f32> [rows, nchunks, 2]          first stage: (max, sum exp(x*inv_temp - max))
//                                                               of the chunk at temperature 1/inv_temp
//   dispatch : one workgroup of WG threads per (row, chunk): rows*nchunks workgroups over (x, y), chunk fastest.
//              The chunk (CHUNK = 1024 values + ids, 8 KiB) is bitonic-sorted in workgroup memory into the order
//              above and its first k entries written (55 barrier steps, whatever k).
//              The wrapper chains stages (n -> nchunks*k candidates) until one chunk remains.
//   precision: selection is exact; lse partials in f32.
//   variants : a module is this file plus sampling/first_stage.wgsl or sampling/next_stage.wgsl (what a stage
//              reads ids from and whether it writes partials); `argmax` and `draw` are the same in both.
//
// entry point `draw`     the sampled token of one row from its final top-k stage, so the token never leaves the GPU
//   bindings : 6 uniform Draw { k, nchunks, top_k, temperature, top_p, u }
//              1 vals  : array<f32> [k]            candidates, best first (the last top-k stage)
//              2 idx   : array<u32> [k]            their token ids (NONE = missing)
//              5 lse   : array<f32> [nchunks, 2]   the first stage's partials at the same temperature
//              4 out_i : array<u32> [1]            the drawn id: NONE without candidates, idx[0] when greedy
//   dispatch : one workgroup of one thread (at most 64 candidates and one partial per 1024 logits).
//   method   : Hugging Face warper order: temperature, top-k (the kept logits renormalised among
//              themselves; without top-k, over the whole vocabulary via lse), then top-p (the smallest
//              best-first prefix reaching top_p), then inverse CDF at u * (kept mass), u uniform in [0, 1).
//   precision: f32; the draw can differ from a float64 one only when u falls within rounding of a CDF step.

//#include "lib/grid.wgsl"

const CHUNK: u32 = 1024u;

override WG: u32 = 256u;  // threads, power of two <= CHUNK (the wrapper: 256 on GPUs, 4 on CPU adapters)
override PER: u32 = CHUNK / WG;
const NONE: u32 = 0xffffffffu;

struct Params {
  rows: u32,
  n: u32,
  nchunks: u32,
  k: u32,
  inv_temp: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> vals: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_i: array<u32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;

// Infinities built at run time (a constant-expression infinity is a shader-creation error).
var<private> NEG_INF_BITS: u32 = 0xff800000u;
var<private> POS_INF_BITS: u32 = 0x7f800000u;

fn neg_inf() -> f32 {
  return bitcast<f32>(NEG_INF_BITS);
}

fn sanitize(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { // NaN, tested on the bits (x != x may be folded away)
    return neg_inf();
  }
  return min(x, 0x1.fffffep+127f);
}

// Is (v1, i1) before (v2, i2)? A missing element (NONE) is after everything.
fn before(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  if (i1 == NONE) {
    return false;
  }
  if (i2 == NONE) {
    return true;
  }
  return v1 > v2 || (v1 == v2 && i1 < i2);
}

// Tree-reduces each thread's (v, i) to the best pair, returned to all threads.
fn reduce_best(v: f32, i: u32, lid: u32) -> vec2<u32> {
  red_v[lid] = v;
  red_i[lid] = i;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride && before(red_v[lid + stride], red_i[lid + stride], red_v[lid], red_i[lid])) {
      red_v[lid] = red_v[lid + stride];
      red_i[lid] = red_i[lid + stride];
    }
    workgroupBarrier();
  }
  let best = vec2<u32>(bitcast<u32>(red_v[0]), red_i[0]);
  workgroupBarrier();
  return best;
}

@compute @workgroup_size(WG)
fn argmax(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = group_index(grid);
  if (r >= p.rows) {
    return;
  }
  var bv = neg_inf();
  var bi = NONE;
  for (var i = lid; i < p.n; i += WG) {
    let x = sanitize(vals[r * p.n + i]);
    if (before(x, i, bv, bi)) {
      bv = x;
      bi = i;
    }
  }
  let best = reduce_best(bv, bi, lid);
  if (lid == 0u) {
    out_i[r] = best.y;
  }
}

var<workgroup> sort_v: array<f32, CHUNK>;
var<workgroup> sort_i: array<u32, CHUNK>;

@compute @workgroup_size(WG)
fn topk(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let g = group_index(grid);
  if (g >= p.rows * p.nchunks) {
    return;
  }
  let c = g % p.nchunks;
  let r = g / p.nchunks;
  var m = -3.0e38;
  var s = 0.0;
  for (var e = 0u; e < PER; e++) {
    let slot = e * WG + lid;
    let col = c * CHUNK + slot;
    var x = neg_inf();
    var id = NONE;
    if (col < p.n) {
      x = sanitize(vals[r * p.n + col]);
      id = token_of(r * p.n, col);
      let z = x * p.inv_temp;
      if (z > m) {
        s = s * exp(m - z) + 1.0;
        m = z;
      } else {
        s += exp(z - m);
      }
    }
    sort_v[slot] = x;
    sort_i[slot] = id;
  }
  chunk_partials(lid, g, m, s);
  workgroupBarrier();
  // Bitonic sort of the chunk into the selection order (55 compare-exchange steps for 1024 elements),
  // each thread exchanging CHUNK / 2 / WG pairs per step.
  for (var k = 2u; k <= CHUNK; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      for (var q = lid; q < CHUNK / 2u; q += WG) {
        let i = 2u * j * (q / j) + q % j;
        let l = i + j;
        let vi = sort_v[i];
        let ii = sort_i[i];
        let vl = sort_v[l];
        let il = sort_i[l];
        let forward = (i & k) == 0u;
        if (select(before(vi, ii, vl, il), before(vl, il, vi, ii), forward)) {
          sort_v[i] = vl;
          sort_i[i] = il;
          sort_v[l] = vi;
          sort_i[l] = ii;
        }
      }
      workgroupBarrier();
    }
  }
  for (var e = lid; e < p.k; e += WG) {
    out_v[g * p.k + e] = select(sort_v[e], neg_inf(), sort_i[e] == NONE);
    out_i[g * p.k + e] = sort_i[e];
  }
}

struct Draw {
  k: u32,
  nchunks: u32,
  top_k: u32,        // 0 = off
  temperature: f32,  // <= 0: greedy
  top_p: f32,        // >= 1: off
  u: f32,
}

@group(0) @binding(6) var<uniform> d: Draw;

@compute @workgroup_size(1)
fn draw() {
  var n = 0u;
  while (n < d.k && idx[n] != NONE) {
    n++;
  }
  if (n == 0u) {
    out_i[0] = NONE;
    return;
  }
  if (!(d.temperature > 0.0) || n == 1u) {
    out_i[0] = idx[0];
    return;
  }
  var keep = n;
  var log_norm: f32;
  if (d.top_k > 0u) {
    keep = min(d.top_k, n);
    let mx = vals[0] / d.temperature;
    var s = 0.0;
    for (var i = 0u; i < keep; i++) {
      s += exp(vals[i] / d.temperature - mx);
    }
    log_norm = mx + log(s);
  } else {
    var mx = lse[0];
    for (var c = 1u; c < d.nchunks; c++) {
      mx = max(mx, lse[2u * c]);
    }
    var s = 0.0;
    for (var c = 0u; c < d.nchunks; c++) {
      s += lse[2u * c + 1u] * exp(lse[2u * c] - mx);
    }
    log_norm = mx + log(s);
  }
  var count = keep;
  if (d.top_p < 1.0) {
    var mass = 0.0;
    count = 0u;
    while (count < keep && (count == 0u || mass < d.top_p)) {
      mass += exp(vals[count] / d.temperature - log_norm);
      count++;
    }
  }
  var total = 0.0;
  for (var i = 0u; i < count; i++) {
    total += exp(vals[i] / d.temperature - log_norm);
  }
  var u = d.u * total;
  for (var i = 0u; i < count; i++) {
    u -= exp(vals[i] / d.temperature - log_norm);
    if (u < 0.0) {
      out_i[0] = idx[i];
      return;
    }
  }
  out_i[0] = idx[count - 1u];
}
