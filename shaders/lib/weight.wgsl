// A weight tensor read element by element, stored as f32 bits, as packed f16 (override W_F16), or quantized
// rows (override W_Q, lib/quant.wgsl). The including kernel binds it as `w: array<u32>`.
//#include "lib/f16.wgsl"
//#include "lib/quant.wgsl"

override W_F16: bool = false;

// Element i of a float (f32 or f16) weight.
fn weight(i: u32) -> f32 {
  if (W_F16) {
    return f16_at(w[i >> 1u], i);
  }
  return bitcast<f32>(w[i]);
}

// Element (n, k) of a weight with rows of `cols` elements, in any storage.
fn weight_nk(n: u32, k: u32, cols: u32) -> f32 {
  if (W_Q != 0u) {
    let row = n * q_row_words(cols);
    return q_code(w[row + q_code_offset(k)], k) * q_scale(w[row + q_scale_offset(k, cols)], k);
  }
  return weight(n * cols + k);
}
