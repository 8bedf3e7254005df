// The RMSNorm weight a Gemma norm applies, 1 + w (GemmaRMSNorm: x / rms(x) * (1 + w)), made once at
// model load so every norm kernel (standalone, fused into the decode matvec, backward) runs unchanged.
//
// entry point `main`   y[i] = OFFSET + w[i]
//   bindings : 0 uniform Params { n }, 2 w [n] (f32 bits or f16 packed two per u32, W_F16), 3 y [n] f32
//   dispatch : ceil(n / WG) workgroups over (x, y)
//   precision: one f32 add (exact for every bf16 w with |w| >= 2^-16).

//#include "lib/grid.wgsl"
//#include "lib/weight.wgsl"

override WG: u32 = 256u;
override OFFSET: f32 = 1.0;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i < p.n) {
    y[i] = OFFSET + weight(i);
  }
}
