// attention.wgsl variant: q and k arrive rotated (a Rope dispatch ran before), so they are used as they are.

fn rope_at(v_d: f32, v_p: f32, d: u32, pos: u32) -> f32 {
  return v_d;
}
