// sampling.wgsl variant for the later top-k stages, over the previous stage's candidates: ids come from idx,
// and there are no partials to write (the log-partition is the first stage's, over the logits).

fn token_of(row_base: u32, col: u32) -> u32 {
  return idx[row_base + col];
}

fn chunk_partials(lid: u32, g: u32, m: f32, s: f32) {
}
