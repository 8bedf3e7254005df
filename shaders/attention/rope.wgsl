// attention.wgsl variant: kv_write and decode_split get q and k before RoPE and rotate them here.
//#include "lib/rotary.wgsl"

@group(0) @binding(9) var<storage, read> inv_freq: array<f32>;

// Element d (value v_d, partner value v_p) of a q or k head vector at position pos, after RoPE.
fn rope_at(v_d: f32, v_p: f32, d: u32, pos: u32) -> f32 {
  return rotary_at(v_d, v_p, d, D / 2u, f32(pos) * inv_freq[d % (D / 2u)]);
}
