// Embedding gather: y[r, :] = table[ids[r], :] * scale, decoded to f32 (scale 1, or Gemma's sqrt(hidden)
// as the model dtype holds it).
//
// entry point `main`
//   bindings : 0 uniform Params { n, hidden, v0, vrows, vocab, zero_oob, scale }
//              1 ids   : array<u32>  [rows] token ids
//              2 w     : array<u32>  window of the embedding table [vrows, hidden] starting at vocab row v0,
//                                    f32 bits or f16 packed two per u32 (element 2i in the low half) (W_F16),
//                                    or q8 / q4 rows (W_Q)
//              3 y     : array<f32>  [rows, hidden] row-major (rows = B*T, batch-major)
//   dispatch : ceil(rows*hidden / WG) workgroups spread over (x, y); element = (wid.y*nwg.x + wid.x)*WG + lid.
//              A table larger than maxStorageBufferBindingSize is bound in row windows, one dispatch per
//              window; each dispatch writes only the rows whose id falls in its window, and the dispatch
//              with zero_oob = 1 also writes 0 for ids >= vocab (so every output element is written once).
//   overrides: WG (workgroup size), W_F16 and W_Q (table storage)
//   precision: exact with scale 1 (a copy; f16 is widened to f32, quantized rows are code * scale in f32); else one f32 product.

//#include "lib/grid.wgsl"
//#include "lib/weight.wgsl"

override WG: u32 = 256u;

struct Params {
  n: u32,        // rows * hidden
  hidden: u32,
  v0: u32,
  vrows: u32,
  vocab: u32,
  zero_oob: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let e = thread_index(grid, lid, WG);
  if (e >= p.n) {
    return;
  }
  let r = e / p.hidden;
  let j = e - r * p.hidden;
  let id = ids[r];
  if (id >= p.vocab) {
    if (p.zero_oob != 0u) {
      y[e] = 0.0;
    }
    return;
  }
  if (id < p.v0 || id - p.v0 >= p.vrows) {
    return;
  }
  y[e] = weight_nk(id - p.v0, j, p.hidden) * p.scale;
}
