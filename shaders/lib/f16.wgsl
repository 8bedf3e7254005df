// Packed f16 storage: two f16 per u32, element 2i in the low half, widened with unpack2x16float
// (no `shader-f16` feature needed). Exact: every f16 is an f32.

// Element i of a packed-f16 array, given the word that holds it (word i / 2).
fn f16_at(word: u32, i: u32) -> f32 {
  let pair = unpack2x16float(word);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}

// The four f16 of two consecutive words, in element order.
fn f16x4(lo: u32, hi: u32) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(lo), unpack2x16float(hi));
}
