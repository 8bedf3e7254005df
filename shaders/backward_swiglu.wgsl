// Gated-MLP backward for h = act(g) * u (LLaMA: act = silu(g) = g * sigmoid(g); Gemma: GELU tanh; override
// ACT, lib/gate.wgsl):
//   dg = dh * u * act'(g),  silu'(g) = s(g) * (1 + g * (1 - s(g))),   du = dh * act(g)
// Elementwise over [rows, I] f32 row-major tensors (any element count).
//
// entry point `main` (out of place)
//   bindings : 0 uniform Params { count }
//              1 g  : array<f32> [count]  gate projection output (pre-activation)
//              2 u  : array<f32> [count]  up projection output
//              3 dh : array<f32> [count]  gradient of h (the down projection's dX)
//              4 dg : array<f32> [count]  written
//              5 du : array<f32> [count]  written
//   dispatch : ceil(count / WG) workgroups spread over (x, y); i = thread_index(grid, lid, WG)
//
// entry point `in_place`: same geometry; bindings 0, 3 and 6 g_dg, 7 u_du (read_write): g is
//   replaced by dg and u by du (saves two [rows, I] buffers). g and u are dead afterwards; if the
//   engine recomputes the down projection's input m = silu(g) u from them, it must do so (and score
//   the down projection) before this dispatch.
//
//   precision: f32; sigmoid as 1 / (1 + exp(-g)) is exact to a few ulp for all g (exp overflow to +inf
//   for g < -88 gives s = 0, the right limit).

//#include "lib/grid.wgsl"
//#include "lib/gate.wgsl"

override WG: u32 = 256u;

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;
@group(0) @binding(6) var<storage, read_write> g_dg: array<f32>;
@group(0) @binding(7) var<storage, read_write> u_du: array<f32>;

// (dg, du) from (g, u, dh).
fn swiglu_grad(gv: f32, uv: f32, d: f32) -> vec2f {
  let a = gate_act_grad(gv);
  return vec2f(d * uv * a.y, d * a.x);
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i >= p.count) {
    return;
  }
  let r = swiglu_grad(g[i], u[i], dh[i]);
  dg[i] = r.x;
  du[i] = r.y;
}

@compute @workgroup_size(WG)
fn in_place(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i >= p.count) {
    return;
  }
  let r = swiglu_grad(g_dg[i], u_du[i], dh[i]);
  g_dg[i] = r.x;
  u_du[i] = r.y;
}
