// A weight tensor read element by element, stored as f32 bits or as packed f16 (override W_F16).
// The including kernel binds it as `w: array<u32>`.
//#include "lib/f16.wgsl"

override W_F16: bool = false;

fn weight(i: u32) -> f32 {
  if (W_F16) {
    return f16_at(w[i >> 1u], i);
  }
  return bitcast<f32>(w[i]);
}
