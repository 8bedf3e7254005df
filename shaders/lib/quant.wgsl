// Quantized weight rows (src/quant/formats.ts): per row, the codes (q8: 4 signed bytes a u32, element k in
// byte k % 4; q4: 8 signed nibbles a u32, element k in bits 4 (k % 8)), then one f16 scale per group of 32
// elements packed two per u32, then zero words to a multiple of 4. Element = code * scale of its group.
// The includer reads the words (these functions only do the index math and the decoding).
//#include "lib/f16.wgsl"

// 0: float storage (W_F16 decides); 8: q8; 4: q4 (code bits = u32 words per group of 32).
override W_Q: u32 = 0u;

fn q_groups(cols: u32) -> u32 {
  return (cols + 31u) >> 5u;
}

// Words of codes in a row.
fn q_code_words(cols: u32) -> u32 {
  return q_groups(cols) * W_Q;
}

// Words of a whole row: codes, scales, padding.
fn q_row_words(cols: u32) -> u32 {
  return ((q_code_words(cols) + ((q_groups(cols) + 1u) >> 1u) + 3u) >> 2u) << 2u;
}

// Word offset of the codes of element k within its row (q8: k / 4, q4: k / 8).
fn q_code_offset(k: u32) -> u32 {
  return (k * W_Q) >> 5u;
}

// Word offset of the scale of element k's group within its row.
fn q_scale_offset(k: u32, cols: u32) -> u32 {
  return q_code_words(cols) + (k >> 6u);
}

// The scale of element k's group, from its scale word.
fn q_scale(word: u32, k: u32) -> f32 {
  return f16_at(word, k >> 5u);
}

// The code of element k, from its code word.
fn q_code(word: u32, k: u32) -> f32 {
  if (W_Q == 8u) {
    return f32(bitcast<i32>(word << ((3u - (k & 3u)) * 8u)) >> 24u);
  }
  return f32(bitcast<i32>(word << ((7u - (k & 7u)) * 4u)) >> 28u);
}

// The four codes of a q8 word (elements 4j .. 4j+3).
fn q8_codes(word: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(word) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

// Codes 0..3 (lo) or 4..7 of a q4 word (elements 8j ..).
fn q4_codes(word: u32, hi: bool) -> vec4<f32> {
  let s = select(vec4<u32>(28u, 24u, 20u, 16u), vec4<u32>(12u, 8u, 4u, 0u), hi);
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(word) << s) >> vec4<u32>(28u));
}
