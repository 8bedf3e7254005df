enable subgroups;
// Subgroup variant of the decode matvec. Not a standalone module: the wrapper compiles this file
// followed by matvec.wgsl (bindings, overrides, layout and precision are documented there).
//
// entry point `main_sg`
//   dispatch : as `main`.
//   reduction: subgroupAdd of each partial; lane 0 of every subgroup stores its sum in its own slot of
//              red[j * WG + lid] (other lanes store 0), so no assumption is made about how subgroups map
//              onto local_invocation_index; then thread j sums the WG slots of value j.

@compute @workgroup_size(WG)
fn main_sg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let n0 = (wid.y * nwg.x + wid.x) * R;
  if (n0 >= p.N) {
    return;
  }
  accumulate(n0, lid);
  let nv = n_values();
  for (var j = 0u; j < nv; j++) {
    let s = subgroupAdd(acc[j]);
    red[j * WG + lid] = select(0.0, s, lane == 0u);
  }
  workgroupBarrier();
  if (lid < nv) {
    var s = 0.0;
    for (var i = 0u; i < WG; i++) {
      s += red[lid * WG + i];
    }
    // Only slot 0 of each value is read by write_out; all reads of other slots are done.
    red[lid * WG] = s;
  }
  workgroupBarrier();
  write_out(n0, lid);
}
