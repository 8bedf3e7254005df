// RMSNorm, Hugging Face LlamaRMSNorm semantics: y = x * 1/sqrt(mean(x^2) + eps) * w, all in f32.
//
// entry point `main`
//   bindings : 0 uniform Params { rows, dim, eps }
//              1 x : array<f32>  [rows, dim] row-major
//              2 w : array<u32>  [dim] weight, f32 bits or f16 packed two per u32 (W_F16)
//              3 y : array<f32>  [rows, dim] (may not alias x)
//   dispatch : one workgroup per row; rows spread over (x, y) of the grid, row = wid.y * nwg.x + wid.x
//   overrides: WG (power of two, workgroup size), W_F16 (weight storage)
//   precision: sum of squares accumulated per thread in f32, then a tree reduction in workgroup memory.

override WG: u32 = 128u;
override W_F16: bool = false;

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn weight(i: u32) -> f32 {
  if (W_F16) {
    let pair = unpack2x16float(w[i >> 1u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(w[i]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = lid; i < p.dim; i += WG) {
    let v = x[base + i];
    s += v * v;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(partial[0] / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += WG) {
    y[base + i] = x[base + i] * inv * weight(i);
  }
}
