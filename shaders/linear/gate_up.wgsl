// linear.wgsl variant: gate and up weights (bindings 2 and 3) for the SwiGLU epilogue (EPI = 2).

const SEGS: u32 = 1u;

@group(0) @binding(3) var<storage, read> wu: array<vec4<u32>>;

// Chunk j of weight `which`: 0 = wg (gate), 1 = wu (up).
fn w_vec(which: u32, j: u32) -> vec4<u32> {
  if (which == 1u) {
    return wu[j];
  }
  return wg[j];
}

// Columns n .. n+3 of row m through the epilogue into y.
fn mv_store(seg: u32, rows: u32, m: u32, n: u32, acc: vec4<f32>, accu: vec4<f32>) {
  store_row(m, n, acc, accu);
}
