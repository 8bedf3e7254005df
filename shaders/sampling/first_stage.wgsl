// sampling.wgsl variant for the first top-k stage, over the logits: a candidate's id is its column, and the
// stage writes each chunk's log-sum-exp partials (m, s) at the temperature.

fn token_of(row_base: u32, col: u32) -> u32 {
  return col;
}

// Merges the threads' online (max, sum exp(z - max)) of chunk g into lse[2g], lse[2g + 1].
fn chunk_partials(lid: u32, g: u32, m: f32, s: f32) {
  // Two plain tree reductions through red_v: the chunk max, then the rescaled sums.
  red_v[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      red_v[lid] = max(red_v[lid], red_v[lid + stride]);
    }
    workgroupBarrier();
  }
  let mm = red_v[0];
  workgroupBarrier();
  red_v[lid] = s * exp(m - mm);
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      red_v[lid] += red_v[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    lse[2u * g] = mm;
    lse[2u * g + 1u] = red_v[0];
  }
}
