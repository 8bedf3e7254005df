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
//              t = thread_index(grid, lid, WG) -> (row, head, i); position = pos0 + row mod seq_len
//   precision: the angle is the f32 product f32(pos) * inv_freq[i] (as HF computes it in f32); cos and
//              sin come from rotary_cos_sin (lib/rotary.wgsl, the forward's, ~1 ulp), NOT the WGSL
//              builtins: the spec only bounds those to 2^-11 absolute and SwiftShader's measured relative
//              error on this kernel was ~1e-4.

//#include "lib/grid.wgsl"
//#include "lib/rotary.wgsl"

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

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= p.rows * p.heads * p.half) {
    return;
  }
  let pair = rope_pair(t, p.heads, p.half, p.seq_len, p.pos0);
  let cs = rotary_cos_sin(f32(pair.z) * inv_freq[pair.y]);
  let dx = rotate_pair(g[pair.x], g[pair.x + p.half], vec2<f32>(cs.x, -cs.y));
  g[pair.x] = dx.x;
  g[pair.x + p.half] = dx.y;
}
