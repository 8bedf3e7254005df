// Final reduction of per-workgroup partial sums into one score slot (backward / Taylor criterion).
//
// entry point `main`
//   bindings : 0 uniform Params { count, slot }
//              1 partials : array<f32> [count]   per-workgroup sums written by a scoring kernel
//              2 scores   : array<f32> [slots]   scores[slot] = sum (or += sum when ACCUMULATE)
//   dispatch : exactly one workgroup
//   overrides: WG (power of two), ACCUMULATE (add to the slot instead of overwriting it)
//   precision: f32; each thread sums ceil(count / WG) partials in order, then a pairwise tree over
//              the WG thread sums (error ~ (count/WG + log2 WG) ulp of the total: all terms are >= 0,
//              so there is no cancellation).

//#include "lib/reduce.wgsl"

override WG: u32 = 256u;
override ACCUMULATE: bool = false;

struct Params {
  count: u32,
  slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.count; i += WG) {
    s += partials[i];
  }
  let total = tree_sum(lid, s);
  if (lid == 0u) {
    if (ACCUMULATE) {
      scores[p.slot] += total;
    } else {
      scores[p.slot] = total;
    }
  }
}
