// The small kernels of LoRA adapters (y += s * B A dropout(x), A [r, K], B [N, r], all f32) that the
// matmul and backward-linear kernels cannot serve: the weight-gradient GEMM over rows, an in-place
// scale, and dropout from a counter-based hash (the backward regenerates the forward's mask).
//
// entry point `weight_grad`  dw[n, k] (+)= sum_m dy[m, n] * x[m, k]        (dL/dW of y = x W^T)
//   bindings : 0 uniform Params   1 dy : [M, N]   2 x : [M, K]   3 out = dw : [N, K] read_write
//   dispatch : ceil(N*K / WG) workgroups over (x, y), one thread per dw element, rows summed in order
//   uses     : M, N, K, accumulate (0: store, 1: add to dw, gradient accumulation)
//
// entry point `scale`        out[i] *= scale                                 (i < M)
//   bindings : 0 uniform Params   3 out : [M] read_write
//
// entry point `dropout`      out[i] (+)= x[i] * keep(i) / (1 - p)            (i < M)
//   bindings : 0 uniform Params   2 x : [M]   3 out : [M] read_write   4 uniform Seed { seed }
//   keep(i) = u(i) >= p, u(i) = (pcg(i ^ pcg(seed ^ salt)) >> 8) / 2^24: the same mask for the same
//   seed, salt and index, so the backward masks dx with the forward's mask.
//   uses     : M (= n), accumulate, p, salt
//
// All: WG (workgroup size) override; f32 throughout.

//#include "lib/grid.wgsl"

override WG: u32 = 256u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  accumulate: u32,
  scale: f32,
  p: f32,
  salt: u32,
  _pad: u32,
}

struct Seed {
  seed: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> seed: Seed;

@compute @workgroup_size(WG)
fn weight_grad(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i >= prm.N * prm.K) {
    return;
  }
  let n = i / prm.K;
  let k = i % prm.K;
  var acc = 0.0;
  for (var m = 0u; m < prm.M; m++) {
    acc += dy[m * prm.N + n] * x[m * prm.K + k];
  }
  if (prm.accumulate != 0u) {
    acc += out[i];
  }
  out[i] = acc;
}

@compute @workgroup_size(WG)
fn scale(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i < prm.M) {
    out[i] = out[i] * prm.scale;
  }
}

// PCG hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

@compute @workgroup_size(WG)
fn dropout(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i >= prm.M) {
    return;
  }
  let u = f32(pcg(i ^ pcg(seed.seed ^ prm.salt)) >> 8u) / 16777216.0;
  var v = 0.0;
  if (u >= prm.p) {
    v = x[i] / (1.0 - prm.p);
  }
  if (prm.accumulate != 0u) {
    v += out[i];
  }
  out[i] = v;
}
