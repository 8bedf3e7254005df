// Next-token negative log-likelihood from logits, numerically stable, reduced per sequence on the GPU.
//
// entry point `nll_rows`  nll[row0 + r] = logsumexp(logits[r, :]) - logits[r, label[row0 + r]]
//   bindings : 0 uniform Params { rows, V, row0, T }
//              1 logits : array<f32> [rows, V]   a window of rows (row0 .. row0 + rows - 1 of the call)
//              2 labels : array<u32> [B*T]       target token of each row; any value >= V (e.g. 0xffffffff) = ignore
//              3 nll    : array<f32> [B*T]       per-position NLL (0 for ignored rows)
//   dispatch : one workgroup of WG threads per row of the window: `rows` workgroups over (x, y).
//              Logits larger than maxStorageBufferBindingSize are bound in row windows (one dispatch each,
//              row0 = first row), or produced and consumed in row chunks by the engine (same row0 mechanism).
//   precision: per-thread online (max, sum exp(x - max)) in f32 over a strided pass, merged by a tree
//              (m, s) reduction: s = s1 exp(m1 - M) + s2 exp(m2 - M); nll = log(s) + m - x[label].
//              Exact to f32 rounding for any logit scale (no overflow: every exp argument is <= 0).
//
// entry point `seq_sum`   out[2b] = sum_t nll[b*T + t] over rows with a valid label, out[2b + 1] = their count
//   bindings : 0 Params (T used), 2 labels, 3 nll (read), 4 out : array<f32> [2*B]
//   dispatch : one workgroup per sequence b: B workgroups over (x, y).
//   precision: f32 strided partial sums + tree; counts are exact up to 2^24.
// Perplexity of sequence b = exp(out[2b] / out[2b + 1]); only 2*B floats are read back.

//#include "lib/grid.wgsl"
//#include "lib/reduce.wgsl"

override WG: u32 = 256u;

const NEG: f32 = -3.0e38;

struct Params {
  rows: u32,
  V: u32,
  row0: u32,
  T: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;
@group(0) @binding(3) var<storage, read> nll_r: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn nll_rows(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let r = group_index(grid);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.V;
  var m = NEG;
  var s = 0.0;
  for (var i = lid; i < p.V; i += WG) {
    let x = logits[base + i];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  let lse = tree_lse(lid, m, s);
  if (lid == 0u) {
    let row = p.row0 + r;
    let label = labels[row];
    var v = 0.0;
    if (label < p.V) {
      v = log(lse.y) + (lse.x - logits[base + label]);
    }
    nll[row] = v;
  }
}

@compute @workgroup_size(WG)
fn seq_sum(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let b = group_index(grid);
  if (b >= p.rows) {
    return;
  }
  var s = 0.0;
  var c = 0.0;
  for (var t = lid; t < p.T; t += WG) {
    let row = b * p.T + t;
    if (labels[row] < p.V) {
      s += nll_r[row];
      c += 1.0;
    }
  }
  let total = tree_reduce(lid, vec4<f32>(s, c, 0.0, 0.0), TREE_SUM);
  if (lid == 0u) {
    out[2u * b] = total.x;
    out[2u * b + 1u] = total.y;
  }
}
