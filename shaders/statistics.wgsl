// Reductions used by the forward-only criteria: weight magnitudes and residual-stream similarity.
//
// entry point `abs_sum`  (magnitude criterion: sum |W| of one weight tensor)
//   bindings : 0 uniform Params { n (elements), per_group (elements per workgroup), cols (row length) }
//              1 w        : array<u32>  weight, f32 bits or f16 packed two per u32 (W_F16), or q8 / q4 rows of
//                                       cols elements (W_Q: the sum of the dequantized |W|)
//              2 partials : array<f32>  one sum per workgroup, folded by backward_reduce.wgsl
//   dispatch : ceil(n / per_group) workgroups, linear id = group_index(grid)
//   precision: f32 per thread over a strided slice, then a tree in workgroup memory; all terms >= 0.
//
// entry point `row_cosine`  (Block Influence / angular distance: cos(a_r, b_r) per token)
//   bindings : 0 uniform Params { n (rows), per_group (row length) }
//              3 a, 4 b : array<f32> [rows, dim]
//              5 out    : array<f32> [rows]
//   dispatch : one workgroup per row, linear id as above
//   precision: dot and squared norms in f32 per thread, tree-reduced; cos = dot / sqrt(|a|^2 |b|^2).
//
// overrides: WG (power of two), W_F16, W_Q

//#include "lib/grid.wgsl"
//#include "lib/weight.wgsl"
//#include "lib/reduce.wgsl"

override WG: u32 = 256u;

struct Params {
  n: u32,
  per_group: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read> a: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// Element i of the weight in row-major order.
fn element(i: u32) -> f32 {
  if (W_Q != 0u) {
    return weight_nk(i / p.cols, i % p.cols, p.cols);
  }
  return weight(i);
}

@compute @workgroup_size(WG)
fn abs_sum(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let group = group_index(grid);
  let start = group * p.per_group;
  let end = min(start + p.per_group, p.n);
  var s = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    s += abs(element(i));
  }
  let total = tree_sum(lid, s);
  if (lid == 0u && start < p.n) {
    partials[group] = total;
  }
}

@compute @workgroup_size(WG)
fn row_cosine(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let row = group_index(grid);
  if (row >= p.n) {
    return;
  }
  let base = row * p.per_group;
  var acc = vec3f(0.0);
  for (var i = lid; i < p.per_group; i += WG) {
    let x = a[base + i];
    let y = b[base + i];
    acc += vec3f(x * y, x * x, y * y);
  }
  let t = tree_reduce(lid, vec4<f32>(acc, 0.0), TREE_SUM);
  if (lid == 0u) {
    out[row] = t.x / sqrt(t.y * t.z);
  }
}
