// linear.wgsl variant: three projections of the same x in one matvec dispatch (q, k, v; SEGS = 3, EPI 0):
// rows [0, N) of the grid use wg and write y, the next n1 rows wu -> y1 [M, n1], the next n2 rows wv -> y2.

const SEGS: u32 = 3u;

@group(0) @binding(3) var<storage, read> wu: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> wv: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> y1: array<f32>;
@group(0) @binding(8) var<storage, read_write> y2: array<f32>;

// Chunk j of weight `which`: 0 = wg (first projection), 1 = wu (second), 2 = wv (third).
fn w_vec(which: u32, j: u32) -> vec4<u32> {
  if (which == 1u) {
    return wu[j];
  }
  if (which == 2u) {
    return wv[j];
  }
  return wg[j];
}

// Columns n .. n+3 of row m of projection `seg` (rows: its width): projection 0 through the epilogue
// into y, 1 and 2 to y1 / y2.
fn mv_store(seg: u32, rows: u32, m: u32, n: u32, acc: vec4<f32>, accu: vec4<f32>) {
  if (seg == 0u) {
    store_row(m, n, acc, accu);
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (m < p.M && n + j < rows) {
      if (seg == 1u) {
        y1[m * rows + n + j] = acc[j];
      } else {
        y2[m * rows + n + j] = acc[j];
      }
    }
  }
}
