// linear.wgsl variant: the decode matvec's input RMSNorm fused in (Hugging Face LlamaRMSNorm, eps from
// Params): x is the raw residual stream, y = (x / rms(x) * nw) W^T = (sum_k x_k nw_k W_nk) / rms(x), the
// sum of squares reduced alongside the dot products, so a decode block runs no separate norm dispatch.
//#include "lib/f16.wgsl"

override NW_F16: bool = false;

@group(0) @binding(5) var<storage, read> nw: array<u32>;

// RMSNorm weight element i.
fn nw_at(i: u32) -> f32 {
  if (NW_F16) {
    return f16_at(nw[i >> 1u], i);
  }
  return bitcast<f32>(nw[i]);
}

// RMSNorm weight elements e .. e+7 (e % 8 == 0).
fn nw8(e: u32) -> Chunk8 {
  if (NW_F16) {
    let j = e >> 1u;
    return Chunk8(f16x4(nw[j], nw[j + 1u]), f16x4(nw[j + 2u], nw[j + 3u]));
  }
  return Chunk8(bitcast<vec4<f32>>(vec4<u32>(nw[e], nw[e + 1u], nw[e + 2u], nw[e + 3u])),
                bitcast<vec4<f32>>(vec4<u32>(nw[e + 4u], nw[e + 5u], nw[e + 6u], nw[e + 7u])));
}

// x elements e .. e+7 scaled by the norm weight; returns their sum of squares (before scaling).
fn norm_x8(e: u32, xa: ptr<function, vec4<f32>>, xb: ptr<function, vec4<f32>>) -> f32 {
  let ss = dot(*xa, *xa) + dot(*xb, *xb);
  let g = nw8(e);
  *xa *= g.a;
  *xb *= g.b;
  return ss;
}

// x element k scaled by the norm weight; returns its square.
fn norm_x1(k: u32, xv: ptr<function, f32>) -> f32 {
  let ss = *xv * *xv;
  *xv *= nw_at(k);
  return ss;
}

// The factor that turns the reduced sums into those of the normalised row.
fn norm_scale(ss: f32) -> f32 {
  return 1.0 / sqrt(ss / f32(p.K) + p.eps);
}
