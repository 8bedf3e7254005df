// Workgroup tree reductions: every thread passes its value, all threads get the result (sum, max,
// or a merged logsumexp), with a barrier after the last read so the caller may reduce again at once.
// Pairwise in workgroup memory: step s combines slot i with slot i + s for s = WG/2, ..., 1. Values
// are carried as vec4 (one tree for up to four sums at once); each lane combines exactly as a
// scalar tree would. The including kernel declares WG (threads, a power of two); call from uniform
// control flow.

const TREE_SUM: u32 = 0u;
const TREE_MAX: u32 = 1u;
const TREE_LSE: u32 = 2u;

var<workgroup> tree_slots: array<vec4<f32>, WG>;

// TREE_LSE merges (max, sum of exp(x - max)) pairs held in (x, y): s = s1 exp(m1 - M) + s2 exp(m2 - M).
fn tree_combine(a: vec4<f32>, b: vec4<f32>, op: u32) -> vec4<f32> {
  if (op == TREE_MAX) {
    return max(a, b);
  }
  if (op == TREE_LSE) {
    let m = max(a.x, b.x);
    return vec4<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m), 0.0, 0.0);
  }
  return a + b;
}

fn tree_reduce(lid: u32, v: vec4<f32>, op: u32) -> vec4<f32> {
  tree_slots[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      tree_slots[lid] = tree_combine(tree_slots[lid], tree_slots[lid + stride], op);
    }
    workgroupBarrier();
  }
  let total = tree_slots[0];
  workgroupBarrier();
  return total;
}

fn tree_sum(lid: u32, v: f32) -> f32 {
  return tree_reduce(lid, vec4<f32>(v, 0.0, 0.0, 0.0), TREE_SUM).x;
}

fn tree_max(lid: u32, v: f32) -> f32 {
  return tree_reduce(lid, vec4<f32>(v, 0.0, 0.0, 0.0), TREE_MAX).x;
}

// logsumexp partials (m, s) of every thread merged: the (max, sum) of the whole workgroup.
fn tree_lse(lid: u32, m: f32, s: f32) -> vec2<f32> {
  return tree_reduce(lid, vec4<f32>(m, s, 0.0, 0.0), TREE_LSE).xy;
}
