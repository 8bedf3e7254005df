enable subgroups;
// Subgroup variant of the decode matvec: linear.wgsl (bindings, overrides, layout and precision are
// documented there) plus one entry point; `enable subgroups;` has to open the module, hence a file.
//
// entry point `matvec_sg`
//   dispatch : as `matvec`.
//   reduction: subgroupAdd of the vec4 partials; lane 0 of every subgroup stores its sum in its own slot
//              red[lid] (other lanes store 0), so no assumption is made about how subgroups map onto
//              local_invocation_index; thread 0 then sums the WG slots. Two barriers per batch row.

//#include "linear.wgsl"

@compute @workgroup_size(WG)
fn matvec_sg(grid: Grid, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let rows = mv_rows(group_index(grid));
  if (rows.x >= rows.z) {
    return;
  }
  for (var m = 0u; m < MB; m++) {
    let acc = mv_accumulate(rows.x, rows.y, rows.z, m, lid);
    let g = subgroupAdd(acc.g);
    let u = subgroupAdd(acc.u);
    let ss = subgroupAdd(acc.ss);
    red[lid] = select(vec4<f32>(0.0), g, lane == 0u);
    red[WG + lid] = select(vec4<f32>(0.0), u, lane == 0u);
    red[2u * WG + lid] = select(vec4<f32>(0.0), ss, lane == 0u);
    workgroupBarrier();
    if (lid == 0u) {
      var sg = vec4<f32>(0.0);
      var su = vec4<f32>(0.0);
      var sss = vec4<f32>(0.0);
      for (var i = 0u; i < WG; i++) {
        sg += red[i];
        su += red[WG + i];
        sss += red[2u * WG + i];
      }
      let f = norm_scale(sss.x);
      mv_store(rows.y, rows.z, m, rows.x, sg * f, su * f);
    }
    workgroupBarrier();
  }
}
