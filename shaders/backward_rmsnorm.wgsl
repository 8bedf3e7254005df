// RMSNorm backward (Hugging Face LlamaRMSNorm: y = x * r * w, r = 1/sqrt(mean(x^2) + eps)):
//   dx = r * (w * dy - x * r^2 * mean(x * w * dy))                       per row
//   score = sum_i |w_i * dw_i|,  dw_i = sum_rows dy_i * x_i * r          (Taylor criterion)
//
// entry point `dx`
//   bindings : 0 uniform Params { rows, dim, eps }
//              1 x      : array<f32> [rows, dim]  the norm's input of the forward pass
//              2 w      : array<u32> [dim]        weight, f32 bits or f16 packed two per u32 (W_F16)
//              3 dy     : array<f32> [rows, dim]  gradient of the norm's output
//              4 dx_out : array<f32> [rows, dim]  overwritten, or dx_out += dx when ACCUMULATE (the
//                                                 residual gradient already there); must not alias x, dy
//              5 rinv   : array<f32> [rows]       r per row, written here for `dw_score`
//   dispatch : one workgroup per row; rows spread over (x, y), row = group_index(grid)
//   precision: sum(x^2) and sum(x w dy) per thread then a tree reduction, all f32.
//
// entry point `dw_score`
//   bindings : 0 uniform Params, 1 x, 2 w, 3 dy, 5 rinv (from `dx`, same pass),
//              6 partials : array<f32> [ceil(dim / WG)]: sum over the workgroup's columns of |w_i dw_i|
//   dispatch : ceil(dim / WG) workgroups; thread i owns column i and sums dy * x * r over all rows in
//              order (f32), then |w_i dw_i| is tree-reduced per workgroup; backward_reduce finishes.
//   overrides: WG (power of two), W_F16, ACCUMULATE (dx only)

//#include "lib/grid.wgsl"
//#include "lib/rmsnorm.wgsl"

override WG: u32 = 128u;
override ACCUMULATE: bool = false;

@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> rinv: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WG)
fn dx(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let row = group_index(grid);
  if (row >= p.rows) {
    return;
  }
  let base = row * p.dim;
  var s = vec2f(0.0);
  for (var i = lid; i < p.dim; i += WG) {
    let xv = x[base + i];
    s += vec2f(xv * xv, xv * weight(i) * dy[base + i]);
  }
  let t = tree_reduce(lid, vec4<f32>(s, 0.0, 0.0), TREE_SUM);
  let r = rms_inverse(t.x);
  let c = r * r * r * t.y / f32(p.dim);
  for (var i = lid; i < p.dim; i += WG) {
    let g = r * weight(i) * dy[base + i] - x[base + i] * c;
    if (ACCUMULATE) {
      dx_out[base + i] += g;
    } else {
      dx_out[base + i] = g;
    }
  }
  if (lid == 0u) {
    rinv[row] = r;
  }
}

@compute @workgroup_size(WG)
fn dw_score(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  var s = 0.0;
  if (i < p.dim) {
    var g = 0.0;
    for (var row = 0u; row < p.rows; row++) {
      g += dy[row * p.dim + i] * x[row * p.dim + i] * rinv[row];
    }
    s = abs(weight(i) * g);
  }
  let t = tree_sum(lid, s);
  if (lid == 0u) {
    partials[wid.x] = t;
  }
}
