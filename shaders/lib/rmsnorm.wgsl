// What RMSNorm forward (rmsnorm.wgsl) and backward (backward_rmsnorm.wgsl) share: the uniform, the
// input and the weight at bindings 0..2, and the inverse RMS of Hugging Face LlamaRMSNorm,
// r = 1 / sqrt(mean(x^2) + eps) in f32. Both run one workgroup per row (row = wid.y * nwg.x + wid.x).
//#include "lib/weight.wgsl"
//#include "lib/reduce.wgsl"

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;

// r of a row from its sum of squares.
fn rms_inverse(sum_sq: f32) -> f32 {
  return 1.0 / sqrt(sum_sq / f32(p.dim) + p.eps);
}
