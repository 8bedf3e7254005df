// A LoRA adapter merged into a copy of its layer's weight, in the weight's stored dtype:
//   out[n, k] = W[n, k] + scale * sum_r B[n, r] * A[r, k]        (W [N, K], A [r, K] f32, B [N, r] f32)
// W and out are bound as array<u32>: f32 bits, or packed f16 (two per word, override W_F16).
//
// entry point `merge`
//   bindings : 0 uniform Params   1 w : [words]   2 a : [r, K]   3 b : [N, r]   4 out : [words] read_write
//   dispatch : ceil(words / WG) workgroups over (x, y); one thread per u32 word of W (two f16 elements
//              or one f32); the sum over r and the add in f32, then (f16) packed with
//              pack2x16float. An odd f16 element count keeps the last word's unused half as it was.
//   uses     : N, K, r, scale; W_F16, WG overrides

//#include "lib/grid.wgsl"

override WG: u32 = 256u;
override W_F16: bool = false;

struct Params {
  N: u32,
  K: u32,
  r: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

// W[i] + scale * (B A)[i] for element i = n * K + k.
fn merged(i: u32, base: f32) -> f32 {
  let n = i / prm.K;
  let k = i % prm.K;
  var acc = 0.0;
  for (var j = 0u; j < prm.r; j++) {
    acc += b[n * prm.r + j] * a[j * prm.K + k];
  }
  return base + prm.scale * acc;
}

@compute @workgroup_size(WG)
fn merge(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let word = thread_index(grid, lid, WG);
  let count = prm.N * prm.K;
  if (W_F16) {
    if (2u * word >= count) {
      return;
    }
    let pair = unpack2x16float(w[word]);
    let lo = merged(2u * word, pair.x);
    if (2u * word + 1u >= count) {
      out[word] = (pack2x16float(vec2<f32>(lo, 0.0)) & 0xffffu) | (w[word] & 0xffff0000u);
      return;
    }
    out[word] = pack2x16float(vec2<f32>(lo, merged(2u * word + 1u, pair.y)));
    return;
  }
  if (word >= count) {
    return;
  }
  out[word] = bitcast<u32>(merged(word, bitcast<f32>(w[word])));
}
