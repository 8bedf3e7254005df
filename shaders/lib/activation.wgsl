// Activations in f32.

// silu(v) = v * sigmoid(v), through exp(-v): v -> -inf gives -0, v -> +inf gives v.
fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

// GELU, tanh approximation (PyTorch gelu(approximate='tanh'), Gemma's MLP):
// 0.5 v (1 + tanh(u)) with u = sqrt(2/pi) (v + 0.044715 v^3), written as v * sigmoid(2u) (the same
// function) so no tanh of a large argument is taken: v -> -inf gives -0, v -> +inf gives v.
const GELU_C: f32 = 0.7978845608028654;
const GELU_A: f32 = 0.044715;

fn gelu_tanh(v: f32) -> f32 {
  return v / (1.0 + exp(-2.0 * GELU_C * (v + GELU_A * v * v * v)));
}

// d/dv gelu_tanh(v) = s + v s (1 - s) 2 u'(v), s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3 * 0.044715 v^2).
fn gelu_tanh_grad(v: f32) -> f32 {
  let s = 1.0 / (1.0 + exp(-2.0 * GELU_C * (v + GELU_A * v * v * v)));
  return s + v * s * (1.0 - s) * 2.0 * GELU_C * (1.0 + 3.0 * GELU_A * v * v);
}
