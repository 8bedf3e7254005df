// The gated MLP's activation act(g) in h = act(g) * u, chosen by the override ACT: 0 silu (LLaMA,
// Mistral, Qwen), 1 GELU tanh approximation (Gemma). Included by the standalone gated product
// (elementwise.wgsl) and its backward (backward_swiglu.wgsl).
//#include "lib/activation.wgsl"

override ACT: u32 = 0u;

fn gate_act(v: f32) -> f32 {
  if (ACT == 1u) {
    return gelu_tanh(v);
  }
  return silu(v);
}

// (act(v), act'(v)).
fn gate_act_grad(v: f32) -> vec2f {
  if (ACT == 1u) {
    return vec2f(gelu_tanh(v), gelu_tanh_grad(v));
  }
  let s = 1.0 / (1.0 + exp(-v));
  return vec2f(v * s, s * (1.0 + v * (1.0 - s)));
}
