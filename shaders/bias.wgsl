// Per-feature bias of a linear layer (Qwen2 / Qwen3 q, k, v and o projections): the forward add after the
// projection, and the Taylor score of the bias for the backward (a bias changes no activation gradient).
// Shapes: y, dy [rows, N] f32 row-major; b [N] (f32 bits or f16 packed two per u32, W_F16).
//
// entry point `add`     y[r, n] += b[n]
//   bindings : 0 uniform Params { rows, N }, 2 b (lib/weight.wgsl `w`), 3 y (read_write)
//   dispatch : ceil(rows*N / WG) workgroups over (x, y); element i = thread_index, n = i % N.
//
// entry point `score`   partial[n] = |b[n] * sum_r dy[r, n]|  (dL/db = column sums of dy; |.| after the sum)
//   bindings : 0 uniform Params, 1 dy (read), 2 b, 4 partial [N] (read_write; ScoreReduce folds it into a slot)
//   dispatch : ceil(N / WG) workgroups; one thread per column, rows summed in order in f32.
//   overrides: WG, W_F16.

//#include "lib/grid.wgsl"
//#include "lib/weight.wgsl"

override WG: u32 = 256u;

struct Params {
  rows: u32,
  N: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn add(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i < p.rows * p.N) {
    y[i] = y[i] + weight(i % p.N);
  }
}

@compute @workgroup_size(WG)
fn score(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let n = thread_index(grid, lid, WG);
  if (n >= p.N) {
    return;
  }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    s += dy[r * p.N + n];
  }
  partial[n] = abs(weight(n) * s);
}
