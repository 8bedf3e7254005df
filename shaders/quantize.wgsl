// Quantizes a float weight into the q8 / q4 row layout of src/quant/formats.ts (lib/quant.wgsl), on the GPU
// while the checkpoint loads: the source tensor is uploaded as usual, quantized, then freed.
//
// entry point `quantize`
//   bindings : 0 uniform Params { rows, K }
//              1 w : array<u32>  source rows [rows, K]: f32 bits or f16 packed two per u32 (W_F16); a row window
//              2 q : array<u32>  the same rows quantized (W_Q = 8 or 4), [rows, q_row_words(K)] words, read_write
//   dispatch : one thread per row and pair of groups (the two share a scale word): rows * ceil(G / 2) threads,
//              G = ceil(K / 32), 64 a workgroup, ceil(threads / 64) workgroups over (x, y).
//   result   : per group s = f16(min(max |w| / Q, 65504)) with Q = 127 (q8) or 7 (q4); codes
//              clamp(round(w / s), -Q, Q) (round halves to even), 0 when s = 0 and past K. A group holding NaN or
//              Inf gets the f16 NaN as its scale, so every element it dequantizes to is NaN and the load's
//              finite check still names the tensor. The padding words are left as created (zero).
//   precision: w / s in f32 (the division may be off by 2.5 ulp: a code can differ from the float64
//              reference only where w / s lies within that of a half).

//#include "lib/grid.wgsl"
//#include "lib/weight.wgsl"

struct Params {
  rows: u32,
  K: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> q: array<u32>;

const F16_NAN: u32 = 0x7e00u;

fn code_max() -> f32 {
  return select(7.0, 127.0, W_Q == 8u);
}

fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// max |w| over group g of row n (x), and 1 when the group holds NaN or Inf (y).
fn group_max(n: u32, g: u32) -> vec2<f32> {
  var m = 0.0;
  var bad = 0.0;
  for (var i = 0u; i < 32u; i++) {
    let k = g * 32u + i;
    if (k < p.K) {
      let v = weight(n * p.K + k);
      if (!is_finite(v)) {
        bad = 1.0;
      } else {
        m = max(m, abs(v));
      }
    }
  }
  return vec2<f32>(m, bad);
}

// Writes the codes of group g of row n with scale s (the f16-rounded value) into the row at word `row`.
fn write_codes(n: u32, g: u32, s: f32, row: u32) {
  let words = W_Q;  // words per group
  for (var j = 0u; j < words; j++) {
    var word = 0u;
    let per = 32u / W_Q;  // elements per word
    for (var b = 0u; b < per; b++) {
      let k = g * 32u + j * per + b;
      var c = 0;
      if (k < p.K && s > 0.0) {
        c = i32(clamp(round(weight(n * p.K + k) / s), -code_max(), code_max()));
      }
      word |= (bitcast<u32>(c) & ((1u << W_Q) - 1u)) << (b * W_Q);
    }
    q[row + g * words + j] = word;
  }
}

@compute @workgroup_size(64)
fn quantize(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, 64u);
  let pairs = (q_groups(p.K) + 1u) / 2u;
  let n = t / pairs;
  if (n >= p.rows) {
    return;
  }
  let g0 = (t - n * pairs) * 2u;
  let g1 = g0 + 1u;
  let has1 = g1 < q_groups(p.K);
  let m0 = group_max(n, g0);
  var m1 = vec2<f32>(0.0);
  if (has1) {
    m1 = group_max(n, g1);
  }
  var half = pack2x16float(min(vec2<f32>(m0.x, m1.x) / code_max(), vec2<f32>(65504.0)));
  let s = unpack2x16float(half);
  let row = n * q_row_words(p.K);
  write_codes(n, g0, select(s.x, 0.0, m0.y != 0.0), row);
  if (has1) {
    write_codes(n, g1, select(s.y, 0.0, m1.y != 0.0), row);
  }
  if (m0.y != 0.0) {
    half = (half & 0xffff0000u) | F16_NAN;
  }
  if (m1.y != 0.0) {
    half = (half & 0x0000ffffu) | (F16_NAN << 16u);
  }
  q[row + q_code_words(p.K) + g0 / 2u] = half;
}
