// RoPE backward (rotate_half convention, Hugging Face LLaMA): the forward rotates each pair
// (x1, x2) = (x[i], x[i + D/2]) of a head by the angle a = pos * inv_freq[i]:
//   y1 = x1 cos a - x2 sin a,  y2 = x2 cos a + x1 sin a
// so the gradient is the transposed rotation:
//   dx1 = dy1 cos a + dy2 sin a,  dx2 = dy2 cos a - dy1 sin a
//
// entry point `main` (in place)
//   bindings : 0 uniform Params { rows, heads, half (= D/2), seq_len, pos0 }
//              1 inv_freq : array<f32> [half]
//              2 g        : array<f32> [rows, heads * D] read_write: dL/d(rotated q or k) in,
//                           dL/d(q or k before RoPE) out
//   dispatch : ceil(rows * heads * half / WG) workgroups spread over (x, y); one thread per pair,
//              t = (wid.y * nwg.x + wid.x) * WG + lid -> (row, head, i); position = pos0 + row mod seq_len
//   precision: the angle is the f32 product f32(pos) * inv_freq[i] (as HF computes it in f32); cos and
//              sin come from `sincos` below (Cody-Waite reduction + Cephes minimax polynomials, ~1 ulp
//              for |a| < 8192), NOT the WGSL builtins: the spec only bounds those to 2^-11 absolute and
//              SwiftShader's measured relative error on this kernel was ~1e-4.

override WG: u32 = 256u;

struct Params {
  rows: u32,
  heads: u32,
  half: u32,
  seq_len: u32,
  pos0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;

// (sin a, cos a) to ~1 ulp for |a| < 8192: reduce by multiples of pi/4 with a 3-part split of pi/4
// (exact products for j < 2^16), then the Cephes sinf/cosf polynomials on [-pi/4, pi/4].
fn sincos(a: f32) -> vec2f {
  let ax = abs(a);
  var j = u32(ax * 1.27323954473516);
  j += j & 1u;
  let y = f32(j);
  let z = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let zz = z * z;
  let ps = ((-1.9515295891e-4 * zz + 8.3321608736e-3) * zz - 1.6666654611e-1) * zz * z + z;
  let pc = ((2.443315711809948e-5 * zz - 1.388731625493765e-3) * zz + 4.166664568298827e-2) * zz * zz - 0.5 * zz + 1.0;
  let q = (j >> 1u) & 3u;
  var r: vec2f;
  switch q {
    case 0u: { r = vec2f(ps, pc); }
    case 1u: { r = vec2f(pc, -ps); }
    case 2u: { r = vec2f(-ps, -pc); }
    default: { r = vec2f(-pc, ps); }
  }
  return vec2f(select(r.x, -r.x, a < 0.0), r.y);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * WG + lid;
  if (t >= p.rows * p.heads * p.half) {
    return;
  }
  let i = t % p.half;
  let rh = t / p.half;  // row * heads + head
  let row = rh / p.heads;
  let pos = p.pos0 + row % p.seq_len;
  let a = f32(pos) * inv_freq[i];
  let sc = sincos(a);
  let s = sc.x;
  let c = sc.y;
  let base = rh * 2u * p.half;
  let d1 = g[base + i];
  let d2 = g[base + i + p.half];
  g[base + i] = d1 * c + d2 * s;
  g[base + i + p.half] = d2 * c - d1 * s;
}
