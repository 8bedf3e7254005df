// linear.wgsl variant: entry point `matmul_wide` over all of K, its blocks stored through the epilogue into y.

// Row m of thread's block (columns n .. n+3 and n+32 .. n+35) into y; s (the K slice) is always whole here.
fn put_row(s: u32, m: u32, n: u32, g: Acc8, u: Acc8) {
  store_row(m, n, g.lo, u.lo);
  store_row(m, n + 32u, g.hi, u.hi);
}

@compute @workgroup_size(64)
fn matmul_wide(grid: Grid, @builtin(local_invocation_index) t: u32) {
  let origin = tile_origin(grid);
  if (origin.z == 0u) {
    return;
  }
  put_block(0u, t, origin.x, origin.y, wide_tile(t, origin.x, origin.y, 0u, p.K));
}
