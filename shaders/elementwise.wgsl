// Element-wise kernels on f32 activations (flat arrays, any length n).
//
// entry point `add`        y[i] = y[i] + x[i]                      (residual add, in place)
//   bindings : 0 uniform Params { n }   1 x : array<f32> [n]   2 y : array<f32> [n] read_write
//
// entry point `swiglu`     h[i] = act(g[i]) * u[i]; act (override ACT, lib/gate.wgsl): silu(v) = v / (1 + exp(-v)),
//                          or GELU's tanh approximation (Gemma)
//   bindings : 0 uniform Params { n }   1 g : array<f32> [n]   2 u : array<f32> [n]   3 h : array<f32> [n]
//              (g = x Wg^T, u = x Wu^T, both [rows, intermediate]; h may not alias g or u)
//
// Both: dispatch ceil(n / WG) workgroups spread over (x, y); i = (wid.y*nwg.x + wid.x)*WG + lid.
//   overrides: WG (workgroup size), ACT (swiglu: 0 silu, 1 GELU tanh)
//   precision: f32; silu through exp(-v) (v -> -inf gives -0, v -> +inf gives v).
// Mostly covered by the fused matmul / matvec epilogues (EPI = residual, swiglu); these are the
// standalone forms.

//#include "lib/grid.wgsl"
//#include "lib/gate.wgsl"

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
    h[i] = gate_act(a[i]) * b[i];
  }
}
