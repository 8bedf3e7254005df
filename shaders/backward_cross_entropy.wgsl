// Mean next-token cross-entropy, fused loss + backward, in place over the logits.
//   loss = (1/C) sum_{labelled rows r} (logsumexp(z_r) - z_r[label_r]),  C = number of labelled rows
//   dz_r = (softmax(z_r) - onehot(label_r)) / C   for labelled rows, 0 for ignored rows
// A label is ignored when it is 0xffffffff (e.g. the last position of every sequence) or >= vocab.
// Row chunks: the logits may be one chunk of rows [row0, row0 + rows) of the batch (for a vocabulary
// too large for one [B*T, V] buffer); labels are always bound whole ([label_rows]) so C is global.
//
// entry point `main`
//   bindings : 0 uniform Params { rows, vocab, row0, label_rows }
//              1 z        : array<f32> [rows, vocab] read_write: logits in, dL/dlogits out (in place)
//              2 labels   : array<u32> [label_rows]; row r of this chunk has label labels[row0 + r]
//              3 row_loss : array<f32> [rows] read_write: lse - z[label] (0 for ignored rows)
//   dispatch : one workgroup per row; rows spread over (x, y), row = group_index(grid)
//   precision: max-subtracted (stable for any finite logits); max and sum of exp are per-thread then
//              tree reductions in f32; C is counted by every workgroup from the labels (no host input).
//
// entry point `reduce_loss`
//   bindings : 0 uniform Params, 2 labels, 3 row_loss (read), 4 loss : array<f32> [2] =
//              { sum of row losses (NLL sum), C as f32 }; mean loss = loss[0] / loss[1]
//   dispatch : exactly one workgroup, after `main`
//   precision: per-thread strided sums then a tree (all terms >= 0).

//#include "lib/grid.wgsl"
//#include "lib/reduce.wgsl"

override WG: u32 = 256u;
override ACCUMULATE: bool = false;

const IGNORE: u32 = 0xffffffffu;

struct Params {
  rows: u32,
  vocab: u32,
  row0: u32,
  label_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

fn labelled(label: u32) -> bool {
  return label != IGNORE && label < p.vocab;
}

fn count_labelled(lid: u32) -> f32 {
  var c = 0.0;
  for (var r = lid; r < p.label_rows; r += WG) {
    c += select(0.0, 1.0, labelled(labels[r]));
  }
  return tree_sum(lid, c);
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let row = group_index(grid);
  if (row >= p.rows) {
    return;
  }
  let count = count_labelled(lid);
  let base = row * p.vocab;
  let label = labels[p.row0 + row];
  if (!labelled(label)) {
    for (var i = lid; i < p.vocab; i += WG) {
      z[base + i] = 0.0;
    }
    if (lid == 0u) {
      row_loss[row] = 0.0;
    }
    return;
  }
  var m = -3.402823e38;
  for (var i = lid; i < p.vocab; i += WG) {
    m = max(m, z[base + i]);
  }
  let zmax = tree_max(lid, m);
  var s = 0.0;
  for (var i = lid; i < p.vocab; i += WG) {
    s += exp(z[base + i] - zmax);
  }
  let sum = tree_sum(lid, s);  // ends with a barrier: every read of z is done
  let lse = zmax + log(sum);
  let target_logit = z[base + label];
  workgroupBarrier();  // all threads read z[label] before anyone overwrites it
  let inv = 1.0 / count;
  for (var i = lid; i < p.vocab; i += WG) {
    let prob = exp(z[base + i] - lse);
    z[base + i] = (prob - select(0.0, 1.0, i == label)) * inv;
  }
  if (lid == 0u) {
    row_loss[row] = lse - target_logit;
  }
}

@compute @workgroup_size(WG)
fn reduce_loss(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var r = lid; r < p.rows; r += WG) {
    s += row_loss[r];
  }
  let total = tree_sum(lid, s);
  let count = count_labelled(lid);
  if (lid == 0u) {
    if (ACCUMULATE) {
      loss[0] += total;
    } else {
      loss[0] = total;
    }
    loss[1] = count;
  }
}
