// RMSNorm, Hugging Face LlamaRMSNorm semantics: y = x * 1/sqrt(mean(x^2) + eps) * w, all in f32.
//
// entry point `main`
//   bindings : 0 uniform Params { rows, dim, eps }
//              1 x : array<f32>  [rows, dim] row-major
//              2 w : array<u32>  [dim] weight, f32 bits or f16 packed two per u32 (W_F16)
//              3 y : array<f32>  [rows, dim] (may not alias x)
//   dispatch : one workgroup per row; rows spread over (x, y) of the grid, row = group_index(grid)
//   overrides: WG (power of two, workgroup size), W_F16 (weight storage)
//   precision: sum of squares accumulated per thread in f32, then a tree reduction in workgroup memory.

//#include "lib/grid.wgsl"
//#include "lib/rmsnorm.wgsl"

override WG: u32 = 128u;

@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let row = group_index(grid);
  if (row >= p.rows) {
    return;
  }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = lid; i < p.dim; i += WG) {
    let v = x[base + i];
    s += v * v;
  }
  let inv = rms_inverse(tree_sum(lid, s));
  for (var i = lid; i < p.dim; i += WG) {
    y[base + i] = x[base + i] * inv * weight(i);
  }
}
