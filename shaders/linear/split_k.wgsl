// linear.wgsl variant: `matmul_wide` over SPLIT slices of K into partial sums (binding 9), then their sum
// through the epilogue, for few output tiles (small M) where a GPU would sit idle.
//
// entry point `matmul_wide_split`
//   dispatch : SPLIT x (tiles of `matmul_wide`) workgroups of 64 threads over (x, y): group g takes tile g % tiles
//              and K slice s = g / tiles, k in [s*KC, (s+1)*KC) with KC = ceil(K / (SPLIT*BK)) * BK.
//   output   : the raw sums into part[s, m, n] (and part[SPLIT + s, m, n] for the up weight); no epilogue, no y.
// entry point `matmul_split_reduce`
//   dispatch : one thread per output element: ceil(M*N / 256) workgroups of 256 over (x, y).
//   output   : y through the epilogue, from the SPLIT partial sums added in slice order.
//   precision: each slice as `matmul_wide`; slices then added in order (K/KC partial sums instead of one chain).

override SPLIT: u32 = 1u;

@group(0) @binding(9) var<storage, read_write> part: array<f32>;

fn slice_len() -> u32 {
  return ((p.K + SPLIT * BK - 1u) / (SPLIT * BK)) * BK;
}

// Row m of a thread's block (columns n .. n+3 and n+32 .. n+35) raw into slice s of part.
fn put_row(s: u32, m: u32, n: u32, g: Acc8, u: Acc8) {
  part_row(s, m, n, g.lo, u.lo);
  part_row(s, m, n + 32u, g.hi, u.hi);
}

// Columns n .. n+3 of row m of slice s (those within M and N).
fn part_row(s: u32, m: u32, n: u32, g: vec4<f32>, u: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  let o = (s * p.M + m) * p.N + n;
  let up = SPLIT * p.M * p.N;
  for (var c = 0u; c < 4u; c++) {
    if (n + c < p.N) {
      part[o + c] = g[c];
      if (EPI == 2u) {
        part[up + o + c] = u[c];
      }
    }
  }
}

@compute @workgroup_size(64)
fn matmul_wide_split(grid: Grid, @builtin(local_invocation_index) t: u32) {
  let group = group_index(grid);
  let tiles = tile_count();
  let s = group / tiles;
  if (s >= SPLIT) {
    return;
  }
  let origin = tile_origin_of(group % tiles);
  let k_begin = s * slice_len();
  put_block(s, t, origin.x, origin.y, wide_tile(t, origin.x, origin.y, min(k_begin, p.K), min(k_begin + slice_len(), p.K)));
}

@compute @workgroup_size(256)
fn matmul_split_reduce(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, 256u);
  let count = p.M * p.N;
  if (i >= count) {
    return;
  }
  var acc = 0.0;
  var acc_up = 0.0;
  for (var s = 0u; s < SPLIT; s++) {
    acc += part[s * count + i];
    if (EPI == 2u) {
      acc_up += part[(SPLIT + s) * count + i];
    }
  }
  let m = i / p.N;
  store(m * p.ldy + p.n_off + (i - m * p.N), acc, acc_up);
}
