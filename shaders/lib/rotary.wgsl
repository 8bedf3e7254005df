// RoPE helpers, included by rope.wgsl, backward_rope.wgsl and attention.wgsl (which applies RoPE
// while filling and reading the KV cache).
//
// rotary_cos_sin(a): (cos a, sin a) without the builtins, whose accuracy WGSL only bounds on [-pi, pi]:
// Cody-Waite reduction by pi/2 in three fma steps (exact for |a| < ~1e5) and Cephes minimax polynomials
// on [-pi/4, pi/4] (about 1 ulp). Angles are f32(pos) * inv_freq[i], one f32 product as HF computes them.
//
// rotary_at(v_i, v_partner, i, half, a): element i of a head after rotate_half RoPE (HF LLaMA): with
// (x1, x2) = (v[j], v[j + half]), j = i mod half, out[j] = x1 cos a - x2 sin a, out[j + half] = x2 cos a +
// x1 sin a; v_partner is v[i + half] for i < half, else v[i - half].
//
// rotate_pair(x1, x2, cs): both elements of a pair at once, cs = (cos a, sin a); the transposed
// rotation (RoPE backward) is rotate_pair(dy1, dy2, (cos a, -sin a)).

// (cos a, sin a) for |a| up to ~1e5.
fn rotary_cos_sin(a: f32) -> vec2<f32> {
  let q = round(a * 0.636619772367581343);
  var r = fma(-q, 1.5703125, a);
  r = fma(-q, 4.837512969970703125e-4, r);
  r = fma(-q, 7.54978995489188216e-8, r);
  let z = r * r;
  let s = fma(r * z, fma(z, fma(z, -1.9515295891e-4, 8.3321608736e-3), -1.6666654611e-1), r);
  let c = fma(z * z, fma(z, fma(z, 2.443315711809948e-5, -1.388731625493765e-3), 4.166664568298827e-2), fma(-0.5, z, 1.0));
  switch (i32(q) & 3) {
    case 0: { return vec2<f32>(c, s); }
    case 1: { return vec2<f32>(-s, c); }
    case 2: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

fn rotary_at(v_i: f32, v_partner: f32, i: u32, half: u32, a: f32) -> f32 {
  let cs = rotary_cos_sin(a);
  if (i < half) {
    return v_i * cs.x - v_partner * cs.y;
  }
  return v_i * cs.x + v_partner * cs.y;
}

// Thread t of a pass over the pairs of q or k [rows, heads, 2 * half] (row r = b*T + t_r at position
// pos0 + t_r): (index of the pair's first element, its frequency index i < half, the position).
fn rope_pair(t: u32, heads: u32, half: u32, T: u32, pos0: u32) -> vec3u {
  let i = t % half;
  let rh = t / half;  // row * heads + head
  return vec3u(rh * 2u * half + i, i, pos0 + (rh / heads) % T);
}

fn rotate_pair(x1: f32, x2: f32, cs: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(x1 * cs.x - x2 * cs.y, x2 * cs.x + x1 * cs.y);
}
