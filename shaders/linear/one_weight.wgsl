// linear.wgsl variant: one weight (binding 2) and one output, for epilogues 0 and 1.

const SEGS: u32 = 1u;

// Chunk j of the weight (there is only the one, whichever is asked for).
fn w_vec(which: u32, j: u32) -> vec4<u32> {
  return wg[j];
}

// Columns n .. n+3 of row m through the epilogue into y.
fn mv_store(seg: u32, rows: u32, m: u32, n: u32, acc: vec4<f32>, accu: vec4<f32>) {
  store_row(m, n, acc, accu);
}
