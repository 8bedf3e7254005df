// Activations in f32.

// silu(v) = v * sigmoid(v), through exp(-v): v -> -inf gives -0, v -> +inf gives v.
fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}
