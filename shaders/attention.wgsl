// Causal multi-head self-attention with grouped-query heads (GQA), f32, scale 1/sqrt(D), optionally with a
// sliding window (Mistral, Qwen2/3 with use_sliding_window): with window W > 0 the query at position t sees
// keys s with t - W < s <= t (W keys, itself included; fn first_key); W = 0 is plain causal attention.
// Shared layout: rows = B*T tokens, batch-major (row r = b*T + t).
//   q   [rows, H*D]    head h in columns h*D .. h*D + D - 1 (after RoPE)
//   k,v [rows, KVH*D]  query head h reads kv head g = h / (H / KVH)
//   out [rows, H*D]
//   lse [rows, H]      prefill entries: logsumexp of query row r's scaled scores for head h at r*H + h (what
//                      the backward, backward_attention.wgsl, recomputes softmax rows from)
//   KV cache, one pair of buffers per layer: kc, vc [B, KVH, maxLen, D] f32, element (b, g, pos, d) at
//   ((b*KVH + g)*maxLen + pos)*D + d. Positions 0 .. pos0 + T - 1 are valid after kv_write of a call.
// Uniform Params { B, T, H, KVH, maxLen, nsplit, scale, window } is shared by all entry points; the step buffer
// Step { pos0 } (src/kernels/common.ts) gives the position of the first token of the call.
// Overrides: D (head dim, even, <= 256; `prefill_direct` needs a multiple of 4, `prefill_direct_any` takes any), CH (keys per split in decode), WG (threads of the decode
// entries, power of two), GQ (H / KVH, decode_split only),
// WRITE (decode_split with T = 1: it appends the call's k, v row itself, so a decode step needs no kv_write).
// Variants: a module is this file plus attention/rope.wgsl (kv_write and decode_split get q and k before RoPE
// and rotate them at position pos0 + t, with inv_freq from binding 9; the cache then holds rotated keys as
// without) or attention/no_rope.wgsl (q and k arrive rotated).
//
// entry point `prefill`  flash attention over the tokens of this call only (no cache; positions 0..T-1)
//   bindings : 0 Params, 2 q, 3 k, 4 v (read), 5 out, 10 lse (read_write)
//   dispatch : one workgroup of 256 threads per (b, h, tile of 16 queries): B*H*ceil(T/16) workgroups over (x, y),
//              g = wid.y*nwg.x + wid.x, q-tile = g % ceil(T/16), h = (g / ceil(T/16)) % H, b = the rest.
//              Thread (qi = lid / 16, j = lid % 16): scores of query qi against key j of each 16-key tile; then the
//              output dims j, j + 16, ... of query qi. K and V tiles pass through one 16*D workgroup buffer.
//   memory   : (16*D + 512) * 4 bytes of workgroup memory (10 KiB at D = 128; D = 256 needs 18 KiB, above the
//              16 KiB WebGPU default, so the wrapper checks the device limit).
//   precision: online softmax in f32 (running max m, running sum l, rescale by exp(m_old - m_new));
//              only key tiles up to the tile's last query are visited. Output = acc / l.
//
// entry point `prefill_direct`  the same result without workgroup memory, for CPU adapters (SwiftShader)
//   bindings : 0 Params, 2 q, 3 k, 4 v (read), 5 out (read_write; all four as vec4 views), 10 lse (read_write)
//   dispatch : one thread per (b, h, t): B*H*T threads, 64 a workgroup over (x, y), t fastest (neighbouring
//              threads read the same keys). Keys in tiles of 4 from first_key(t) rounded down to 4, up to t; the running output is kept in `out`
//              itself (rescaled per tile) since a CPU has cache, not a register file, to hold it.
//   why      : on a CPU, `prefill`'s 4 barriers per 16 keys are coroutine switches of all 256 threads and its
//              workgroup tiles are copies of cached memory. SwiftShader, B10 T128 H4/2 D32: 810 -> 100 ms.
//   precision: as `prefill` (online softmax in f32), keys summed in tiles of 4 instead of 16.
//
// entry point `prefill_direct_any`  `prefill_direct` with scalar views, for head dims that are not a multiple
//   of 4 (tiny test models; Qwen3 and Gemma take head_dim from the config): same bindings and geometry, one key
//   at a time.
//
// entry point `kv_write` append this call's k, v rows to the cache
//   bindings : 0 Params, 1 Step, 3 k, 4 v (read), 6 kc, 7 vc (read_write), 9 inv_freq (rope.wgsl)
//   dispatch : one thread per element of [rows, KVH*D]: ceil(rows*KVH*D / 256) workgroups of 256 over (x, y).
//              Row r = b*T + t goes to position pos0 + t; positions >= maxLen are dropped (the engine must stop).
//
// entry point `decode_split` attention of this call's queries over the cache, split along the cache length
//   bindings : 0 Params, 1 Step, 2 q, 3 k, 4 v (read), 6 kc, 7 vc, 8 part (read_write) [rows, H, nsplit, D + 2],
//              9 inv_freq (rope.wgsl). k and v are read only with WRITE, kc and vc only read without.
//   dispatch : one workgroup of WG threads per (r, kv head, s): rows*KVH*nsplit workgroups over (x, y), s fastest.
//              The GQ = H/KVH query heads of the kv head are done together, so each cached K/V row is fetched
//              once per group. Query r (t = r mod T) sits at position pos0 + t and sees cache positions
//              0 .. pos0 + t; split s takes every nsplit-th of those, positions s, s + nsplit, s + 2*nsplit, ...
//              (strided, so a short prefix of a long cache still spreads over every split; CH >= ceil(maxLen /
//              nsplit); empty splits write m = -3e38, l = 0, acc = 0). Writes acc[D] = sum_j p_j v_j, then m, l.
//              With a window only positions >= first_key(pos0 + t) count (the cache keeps every position).
//   WRITE    : (T = 1) the new key sits at position pos0, the last key of split pos0 % nsplit. That split's
//              workgroup for each kv head rotates it into workgroup memory, appends it and v's row to the cache,
//              and attends to it from there; no other workgroup reads that position, so nothing races.
//   memory   : (GQ*D + GQ*CH + GQ*WG + D) * 4 bytes of workgroup memory (the wrapper sizes CH to fit 16 KiB).
//   precision: scores held in workgroup memory; max and sum by tree reductions; exp(s - m) in f32.
//
// entry point `decode_reduce` merge the splits
//   bindings : 0 Params, 8 part (read), 5 out (read_write)
//   dispatch : one workgroup of WG threads per (r, h): rows*H workgroups over (x, y);
//              out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s with M = max_s m_s. M and the
//              denominator by tree reductions over threads taking every WG-th split; each output dim
//              then sums its splits with four independent accumulators.
// Prefill with a cache (chunked prefill, T > 1 with pos0 > 0) works through kv_write + decode_split/reduce.

//#include "lib/grid.wgsl"
//#include "lib/step.wgsl"

override D: u32 = 64u;
override CH: u32 = 256u;
override WG: u32 = 64u;
override GQ: u32 = 1u;      // query heads per kv head (H / KVH), <= GQ_MAX
override WRITE: bool = false;
const GQ_MAX: u32 = 16u;

const NEG: f32 = -3.0e38;

struct Params {
  B: u32,
  T: u32,
  H: u32,
  KVH: u32,
  maxLen: u32,
  nsplit: u32,
  scale: f32,
  window: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> kc: array<f32>;
@group(0) @binding(7) var<storage, read_write> vc: array<f32>;
@group(0) @binding(8) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<storage, read> part_r: array<f32>;
@group(0) @binding(10) var<storage, read_write> lse_out: array<f32>;

// The first key position a query at position t attends to (0 without a window).
fn first_key(t: u32) -> u32 {
  return select(0u, t + 1u - p.window, p.window > 0u && t >= p.window);
}

// Index of the element that element d of a head pairs with under rotate_half RoPE.
fn rope_partner(d: u32) -> u32 {
  return select(d - D / 2u, d + D / 2u, d < D / 2u);
}

// ---------------------------------------------------------------- prefill

var<workgroup> kv_tile: array<f32, 16u * D>;
var<workgroup> s_tile: array<f32, 256>;
var<workgroup> p_tile: array<f32, 256>;

@compute @workgroup_size(256)
fn prefill(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let ntq = (p.T + 15u) / 16u;
  let g = group_index(grid);
  if (g >= p.B * p.H * ntq) {
    return;
  }
  let qt = g % ntq;
  let h = (g / ntq) % p.H;
  let b = g / (ntq * p.H);
  let kvh = h / (p.H / p.KVH);
  let qi = lid >> 4u;
  let j = lid & 15u;
  let tq_raw = qt * 16u + qi;
  let tq = min(tq_raw, p.T - 1u); // rows past T compute a copy of the last row and are not stored
  let q_base = (b * p.T + tq) * p.H * D + h * D;
  let kv_stride = p.KVH * D;
  let kv_base = b * p.T * kv_stride + kvh * D;

  var o: array<f32, 16>; // ceil(D / 16) used (D <= 256)
  var m = NEG;
  var l = 0.0;
  let last_key = min(p.T - 1u, qt * 16u + 15u);
  // A tile whose keys are all outside a query's window leaves it at m = NEG; its first key in the window
  // (every query sees itself) then rescales that away (alpha = exp(NEG - m) = 0).
  for (var k0 = first_key(qt * 16u) / 16u * 16u; k0 <= last_key; k0 += 16u) {
    for (var e = lid; e < 16u * D; e += 256u) {
      let tk = k0 + e / D;
      kv_tile[e] = select(0.0, k[kv_base + tk * kv_stride + e % D], tk < p.T);
    }
    workgroupBarrier();
    var s = 0.0;
    for (var d = 0u; d < D; d++) {
      s = fma(q[q_base + d], kv_tile[j * D + d], s);
    }
    let tk = k0 + j;
    s_tile[lid] = select(NEG, s * p.scale, tk <= tq && tk >= first_key(tq));
    workgroupBarrier();
    for (var e = lid; e < 16u * D; e += 256u) {
      let tk2 = k0 + e / D;
      kv_tile[e] = select(0.0, v[kv_base + tk2 * kv_stride + e % D], tk2 < p.T);
    }
    var mt = m;
    for (var jj = 0u; jj < 16u; jj++) {
      mt = max(mt, s_tile[qi * 16u + jj]);
    }
    var rs = 0.0;
    for (var jj = 0u; jj < 16u; jj++) {
      rs += exp(s_tile[qi * 16u + jj] - mt);
    }
    let alpha = exp(m - mt);
    l = l * alpha + rs;
    m = mt;
    p_tile[lid] = exp(s_tile[lid] - mt);
    workgroupBarrier();
    for (var e = 0u; e < (D + 15u) / 16u; e++) {
      let d = min(j + 16u * e, D - 1u); // dims past D (D not a multiple of 16) compute a copy, never stored
      var acc = o[e] * alpha;
      for (var jj = 0u; jj < 16u; jj++) {
        acc = fma(p_tile[qi * 16u + jj], kv_tile[jj * D + d], acc);
      }
      o[e] = acc;
    }
    workgroupBarrier();
  }
  if (tq_raw < p.T) {
    for (var e = 0u; e < (D + 15u) / 16u; e++) {
      if (j + 16u * e < D) {
        out[q_base + j + 16u * e] = o[e] / l;
      }
    }
    if (j == 0u) {
      lse_out[(b * p.T + tq) * p.H + h] = m + log(l);
    }
  }
}

// ---------------------------------------------------------------- prefill without workgroup memory

// vec4 views of q, k, v, out for `prefill_direct` only (no entry point uses both views of a binding).
@group(0) @binding(2) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out4: array<vec4<f32>>;

// Index (in vec4) of key/value row tk of sequence b, kv head kvh.
fn kv4_base(b: u32, tk: u32, kvh: u32) -> u32 {
  return ((b * p.T + tk) * p.KVH + kvh) * (D / 4u);
}

@compute @workgroup_size(64)
fn prefill_direct(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = group_index(grid) * 64u + lid;
  if (i >= p.B * p.H * p.T) {
    return;
  }
  let t = i % p.T;
  let h = (i / p.T) % p.H;
  let b = i / (p.T * p.H);
  let kvh = h / (p.H / p.KVH);
  let q_base = ((b * p.T + t) * p.H + h) * (D / 4u);
  var m = NEG;
  var l = 0.0;
  let lo = first_key(t);
  let k_start = lo / 4u * 4u;
  for (var k0 = k_start; k0 <= t; k0 += 4u) {
    // Keys k0 .. k0+3; those past t (rows clamped to t, so every read stays in the sequence) or before the
    // window are masked.
    let kb0 = kv4_base(b, k0, kvh);
    let kb1 = kv4_base(b, min(k0 + 1u, t), kvh);
    let kb2 = kv4_base(b, min(k0 + 2u, t), kvh);
    let kb3 = kv4_base(b, min(k0 + 3u, t), kvh);
    var s = vec4<f32>(0.0);
    for (var d4 = 0u; d4 < D / 4u; d4++) {
      let qq = q4[q_base + d4];
      s += vec4<f32>(dot(qq, k4[kb0 + d4]), dot(qq, k4[kb1 + d4]), dot(qq, k4[kb2 + d4]), dot(qq, k4[kb3 + d4]));
    }
    let keys = vec4<u32>(k0, k0 + 1u, k0 + 2u, k0 + 3u);
    let valid = (keys <= vec4<u32>(t)) & (keys >= vec4<u32>(lo));
    s = select(vec4<f32>(NEG), s * p.scale, valid);
    let mt = max(m, max(max(s.x, s.y), max(s.z, s.w)));
    let alpha = exp(m - mt);
    let e = select(vec4<f32>(0.0), exp(s - mt), valid);
    l = l * alpha + e.x + e.y + e.z + e.w;
    m = mt;
    // The running output lives in `out` (a CPU's cache, not registers); the first tile overwrites it.
    for (var d4 = 0u; d4 < D / 4u; d4++) {
      let prev = select(vec4<f32>(0.0), out4[q_base + d4] * alpha, k0 > k_start);
      out4[q_base + d4] = prev + e.x * v4[kb0 + d4] + e.y * v4[kb1 + d4] + e.z * v4[kb2 + d4] + e.w * v4[kb3 + d4];
    }
  }
  for (var d4 = 0u; d4 < D / 4u; d4++) {
    out4[q_base + d4] = out4[q_base + d4] / l;
  }
  lse_out[(b * p.T + t) * p.H + h] = m + log(l);
}

@compute @workgroup_size(64)
fn prefill_direct_any(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = group_index(grid) * 64u + lid;
  if (i >= p.B * p.H * p.T) {
    return;
  }
  let t = i % p.T;
  let h = (i / p.T) % p.H;
  let b = i / (p.T * p.H);
  let kvh = h / (p.H / p.KVH);
  let q_base = ((b * p.T + t) * p.H + h) * D;
  let lo = first_key(t);
  var m = NEG;
  var l = 0.0;
  for (var tk = lo; tk <= t; tk++) {
    let kb = ((b * p.T + tk) * p.KVH + kvh) * D;
    var s = 0.0;
    for (var d = 0u; d < D; d++) {
      s = fma(q[q_base + d], k[kb + d], s);
    }
    s *= p.scale;
    let mt = max(m, s);
    let alpha = exp(m - mt);
    let e = exp(s - mt);
    l = l * alpha + e;
    m = mt;
    // The running output lives in `out`; the first key overwrites it.
    for (var d = 0u; d < D; d++) {
      let prev = select(0.0, out[q_base + d] * alpha, tk > lo);
      out[q_base + d] = fma(e, v[kb + d], prev);
    }
  }
  for (var d = 0u; d < D; d++) {
    out[q_base + d] = out[q_base + d] / l;
  }
  lse_out[(b * p.T + t) * p.H + h] = m + log(l);
}

// ---------------------------------------------------------------- KV cache append

@compute @workgroup_size(256)
fn kv_write(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = group_index(grid) * 256u + lid;
  let width = p.KVH * D;
  if (i >= p.B * p.T * width) {
    return;
  }
  let r = i / width;
  let c = i - r * width;
  let g = c / D;
  let d = c - g * D;
  let b = r / p.T;
  let pos = step.pos0 + r % p.T;
  if (pos >= p.maxLen) {
    return;
  }
  let o = ((b * p.KVH + g) * p.maxLen + pos) * D + d;
  kc[o] = rope_at(k[i], k[i - d + rope_partner(d)], d, pos);
  vc[o] = v[i];
}

// ---------------------------------------------------------------- decode: split over the cache

var<workgroup> q_vec: array<f32, GQ * D>;
var<workgroup> k_new: array<f32, D>;
var<workgroup> scores: array<f32, GQ * CH>;
var<workgroup> red: array<f32, GQ * WG>;

// Tree-reduces red[g * WG + i] over i for every g < groups at once (max or sum); the result for g lands
// in red[g * WG]. Callers read it and pass through another barrier (the next reduction or the end)
// before red is rewritten.
fn reduce_groups_of(lid: u32, groups: u32, is_max: bool) {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      for (var g = 0u; g < groups; g++) {
        let a = red[g * WG + lid];
        let c = red[g * WG + lid + stride];
        red[g * WG + lid] = select(a + c, max(a, c), is_max);
      }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn decode_split(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let wg_id = group_index(grid);
  let rows = p.B * p.T;
  if (wg_id >= rows * p.KVH * p.nsplit) {
    return;
  }
  let s = wg_id % p.nsplit;
  let rk = wg_id / p.nsplit;
  let kvh = rk % p.KVH;
  let r = rk / p.KVH;
  let b = r / p.T;
  let len = min(step.pos0 + r % p.T + 1u, p.maxLen);
  // Keys of this split: positions s + jj * nsplit for j0 <= jj < n (j0 > 0 where a window starts past s).
  let n = select(0u, (len - s + p.nsplit - 1u) / p.nsplit, len > s);
  let lo = first_key(step.pos0 + r % p.T);
  let j0 = select(0u, (lo - s + p.nsplit - 1u) / p.nsplit, lo > s);
  let cache_base = (b * p.KVH + kvh) * p.maxLen * D + s * D;
  let key_stride = p.nsplit * D;
  // Query heads kvh*GQ .. kvh*GQ + GQ - 1 share this kv head: each K/V row is fetched once for all of them.
  let q_base = r * p.H * D + kvh * GQ * D;

  let q_pos = step.pos0 + r % p.T;
  for (var i = lid; i < GQ * D; i += WG) {
    let g = i / D;
    let d = i - g * D;
    q_vec[i] = rope_at(q[q_base + i], q[q_base + g * D + rope_partner(d)], d, q_pos) * p.scale;
  }
  // WRITE: this workgroup owns the new position q_pos (see the header); the cache is read for the others.
  let owns_new = WRITE && q_pos < p.maxLen && s == q_pos % p.nsplit;
  let n_cached = select(n, n - 1u, owns_new);
  let new_kv = r * p.KVH * D + kvh * D;
  if (owns_new) {
    let dst = (b * p.KVH + kvh) * p.maxLen * D + q_pos * D;
    for (var d = lid; d < D; d += WG) {
      let kd = rope_at(k[new_kv + d], k[new_kv + rope_partner(d)], d, q_pos);
      k_new[d] = kd;
      kc[dst + d] = kd;
      vc[dst + d] = v[new_kv + d];
    }
  }
  workgroupBarrier();
  var mx: array<f32, GQ_MAX>;
  for (var g = 0u; g < GQ; g++) {
    mx[g] = NEG;
  }
  for (var jj = j0 + lid; jj < n; jj += WG) {
    let kb = cache_base + jj * key_stride;
    for (var g = 0u; g < GQ; g++) {
      var sc = 0.0;
      if (jj < n_cached) {
        for (var d = 0u; d < D; d++) {
          sc = fma(q_vec[g * D + d], kc[kb + d], sc);
        }
      } else {
        for (var d = 0u; d < D; d++) {
          sc = fma(q_vec[g * D + d], k_new[d], sc);
        }
      }
      scores[g * CH + jj] = sc;
      mx[g] = max(mx[g], sc);
    }
  }
  for (var g = 0u; g < GQ; g++) {
    red[g * WG + lid] = mx[g];
  }
  reduce_groups_of(lid, GQ, true);
  var m: array<f32, GQ_MAX>;
  var sum: array<f32, GQ_MAX>;
  for (var g = 0u; g < GQ; g++) {
    m[g] = red[g * WG];
    sum[g] = 0.0;
  }
  for (var jj = j0 + lid; jj < n; jj += WG) {
    for (var g = 0u; g < GQ; g++) {
      let e = exp(scores[g * CH + jj] - m[g]);
      scores[g * CH + jj] = e;
      sum[g] += e;
    }
  }
  workgroupBarrier(); // everyone has read the maxima before red is reused
  for (var g = 0u; g < GQ; g++) {
    red[g * WG + lid] = sum[g];
  }
  reduce_groups_of(lid, GQ, false); // its barriers also publish scores[]
  for (var i = lid; i < GQ * D; i += WG) {
    let g = i / D;
    let d = i - g * D;
    var acc = 0.0;
    for (var jj = j0; jj < n_cached; jj++) {
      acc = fma(scores[g * CH + jj], vc[cache_base + jj * key_stride + d], acc);
    }
    if (owns_new) {
      acc = fma(scores[g * CH + n - 1u], v[new_kv + d], acc);
    }
    let part_base = ((r * p.H + kvh * GQ + g) * p.nsplit + s) * (D + 2u);
    part[part_base + d] = acc;
    if (d == 0u) {
      part[part_base + D] = select(NEG, m[g], n > j0);
      part[part_base + D + 1u] = red[g * WG];
    }
  }
}

@compute @workgroup_size(WG)
fn decode_reduce(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let rh = group_index(grid);
  if (rh >= p.B * p.T * p.H) {
    return;
  }
  let base = rh * p.nsplit * (D + 2u);
  let stride = D + 2u;
  // Max and weighted sum over the splits, each thread taking every WG-th split (a real GPU decode has
  // hundreds of splits: a serial loop of dependent loads here cost more than the split pass).
  var mx = NEG;
  for (var s = lid; s < p.nsplit; s += WG) {
    mx = max(mx, part_r[base + s * stride + D]);
  }
  red[lid] = mx;
  reduce_groups_of(lid, 1u, true);
  let m_all = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var s = lid; s < p.nsplit; s += WG) {
    let o = base + s * stride;
    l += exp(part_r[o + D] - m_all) * part_r[o + D + 1u];
  }
  red[lid] = l;
  reduce_groups_of(lid, 1u, false);
  let l_all = red[0];
  // Four independent accumulators keep four loads in flight per thread.
  for (var d = lid; d < D; d += WG) {
    var a = vec4<f32>(0.0);
    var s = 0u;
    for (; s + 4u <= p.nsplit; s += 4u) {
      let o = base + s * stride;
      a += vec4<f32>(exp(part_r[o + D] - m_all) * part_r[o + d],
                     exp(part_r[o + stride + D] - m_all) * part_r[o + stride + d],
                     exp(part_r[o + 2u * stride + D] - m_all) * part_r[o + 2u * stride + d],
                     exp(part_r[o + 3u * stride + D] - m_all) * part_r[o + 3u * stride + d]);
    }
    for (; s < p.nsplit; s++) {
      let o = base + s * stride;
      a.x += exp(part_r[o + D] - m_all) * part_r[o + d];
    }
    out[rh * D + d] = (a.x + a.y + a.z + a.w) / l_all;
  }
}
