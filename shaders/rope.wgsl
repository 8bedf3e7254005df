// Rotary position embedding, Hugging Face LLaMA convention (rotate_half: element i pairs with i + D/2):
//   out[i]       = v[i] * cos(a_i) - v[i + D/2] * sin(a_i)
//   out[i + D/2] = v[i + D/2] * cos(a_i) + v[i] * sin(a_i),      a_i = f32(pos) * inv_freq[i], i < D/2
// applied in place to every head of q or k.
//
// entry point `main`
//   bindings : 0 uniform Params { rows, T, heads, half }      (half = D / 2)
//              1 uniform Step { pos0 }                        the shared step buffer (src/kernels/common.ts)
//              2 inv_freq : array<f32> [D/2]                  per-pair inverse frequencies, uploaded once
//                                                             (llama3 rope_scaling already folded in by the wrapper)
//              3 v : array<f32> [rows, heads * D] read_write  q [rows, H*D] or k [rows, KVH*D]; head h = columns h*D ..
//   geometry : token r (rows = B*T, batch-major) has position pos0 + (r mod T); one thread per (r, head, i):
//              ceil(rows*heads*D/2 / WG) workgroups over (x, y), id = (wid.y*nwg.x + wid.x)*WG + lid.
//   overrides: WG
//   precision: the angle is one f32 product f32(pos) * inv_freq (as HF computes freqs in f32); cos/sin from
//              rotary_cos_sin (lib/rotary.wgsl), about 1 ulp.

//#include "lib/grid.wgsl"
//#include "lib/rotary.wgsl"
//#include "lib/step.wgsl"

override WG: u32 = 256u;

struct Params {
  rows: u32,
  T: u32,
  heads: u32,
  half: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let id = thread_index(grid, lid, WG);
  if (id >= p.rows * p.heads * p.half) {
    return;
  }
  let pair = rope_pair(id, p.heads, p.half, p.T, step.pos0);
  let cs = rotary_cos_sin(f32(pair.z) * inv_freq[pair.y]);
  let out = rotate_pair(v[pair.x], v[pair.x + p.half], cs);
  v[pair.x] = out.x;
  v[pair.x + p.half] = out.y;
}
