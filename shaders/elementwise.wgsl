// Element-wise kernels on f32 activations (flat arrays, any length n).
//
// entry point `add`        y[i] = y[i] + x[i]                      (residual add, in place)
//   bindings : 0 uniform Params { n }   1 x : array<f32> [n]   2 y : array<f32> [n] read_write
//
// entry point `swiglu`     h[i] = silu(g[i]) * u[i], silu(v) = v / (1 + exp(-v))
//   bindings : 0 uniform Params { n }   1 g : array<f32> [n]   2 u : array<f32> [n]   3 h : array<f32> [n]
//              (g = x Wg^T, u = x Wu^T, both [rows, intermediate]; h may not alias g or u)
//
// Both: dispatch ceil(n / WG) workgroups spread over (x, y); i = (wid.y*nwg.x + wid.x)*WG + lid.
//   overrides: WG (workgroup size)
//   precision: f32; silu through exp(-v) (v -> -inf gives -0, v -> +inf gives v).
// Mostly covered by the fused matmul / matvec epilogues (EPI = residual, swiglu); these are the
// standalone forms.

//#include "lib/grid.wgsl"
//#include "lib/activation.wgsl"

override WG: u32 = 256u;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;

@compute @workgroup_size(WG)
fn add(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i < p.n) {
    y[i] = y[i] + a[i];
  }
}

@compute @workgroup_size(WG)
fn swiglu(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i < p.n) {
    h[i] = silu(a[i]) * b[i];
  }
}
