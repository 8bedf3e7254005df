// AdamW as torch.optim.AdamW (non-amsgrad, non-foreach semantics) on f32 parameters, one thread per
// element:
//   g = grad * grad_scale                 (1 / micro-batches: the mean over gradient accumulation)
//   w = w * (1 - lr * weight_decay)
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   w = w - (lr / bc1) * m / (sqrt(v) / sqrt_bc2 + eps),  bc1 = 1 - beta1^t, sqrt_bc2 = sqrt(1 - beta2^t)
// (bc1, sqrt_bc2, lr and 1 - beta are computed in float64 on the CPU: 1 - f32(0.999) in f32 is off by
// 1.3e-5 relative, as torch's 1 - beta2 in double then rounded is not.)
//
// entry point `adamw`
//   bindings : 0 uniform Params   1 grad : [n]   2 w : [n] rw   3 m : [n] rw   4 v : [n] rw   5 uniform Count { n }
//   dispatch : ceil(n / WG) workgroups over (x, y)

//#include "lib/grid.wgsl"

override WG: u32 = 256u;

// Shared by every tensor's dispatch of a step (rewritten per step).
struct Params {
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bc1: f32,
  sqrt_bc2: f32,
  grad_scale: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
}

// Per tensor.
struct Count {
  n: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<uniform> count: Count;

@compute @workgroup_size(WG)
fn adamw(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i >= count.n) {
    return;
  }
  let g = grad[i] * prm.grad_scale;
  let mi = prm.beta1 * m[i] + prm.one_minus_beta1 * g;
  let vi = prm.beta2 * v[i] + prm.one_minus_beta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let decayed = w[i] * (1.0 - prm.lr * prm.weight_decay);
  w[i] = decayed - (prm.lr / prm.bc1) * mi / (sqrt(vi) / prm.sqrt_bc2 + prm.eps);
}
