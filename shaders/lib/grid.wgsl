// The dispatch grid of a 1-D job: GpuRuntime.grid spreads its workgroups over x and y (each under
// maxComputeWorkgroupsPerDimension); entry points take `grid: Grid` and recover the linear indices.

struct Grid {
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
}

// Linear index of this workgroup.
fn group_index(grid: Grid) -> u32 {
  return grid.wid.y * grid.nwg.x + grid.wid.x;
}

// Linear index of thread lid of this workgroup, `size` threads a workgroup.
fn thread_index(grid: Grid, lid: u32, size: u32) -> u32 {
  return group_index(grid) * size + lid;
}
