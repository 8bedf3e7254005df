// Repetition penalty (Hugging Face's RepetitionPenaltyLogitsProcessor) on one row of logits, with the
// set of tokens seen so far kept on the GPU, so that a sampled token never has to visit the host.
//
// entry point `penalize`  out[i] = seen(i) ? (x < 0 ? x * penalty : x / penalty) : x,  x = logits[i]
//   bindings : 0 uniform Params { n, penalty }
//              1 logits : array<f32> [n]        the head's output (left untouched)
//              2 token  : array<u32> [1]        the token this step embedded: seen from now on
//              3 seen   : array<u32> [n]        1 = in the prompt or generated so far (read_write)
//              4 out    : array<f32> [n]        penalised logits, every element written
//   dispatch : ceil(n / WG) workgroups spread over (x, y); i = (wid.y*nwg.x + wid.x)*WG + lid.
//              Only the thread of element token[0] writes seen, and only it reads that flag: no race.
//   precision: f32, as the processor in PyTorch (one multiply or divide).

//#include "lib/grid.wgsl"

override WG: u32 = 256u;

struct Params {
  n: u32,
  penalty: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> token: array<u32>;
@group(0) @binding(3) var<storage, read_write> seen: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn penalize(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = thread_index(grid, lid, WG);
  if (i >= p.n) {
    return;
  }
  var hit = seen[i] != 0u;
  if (i == token[0]) {
    seen[i] = 1u;
    hit = true;
  }
  let x = logits[i];
  out[i] = select(x, select(x / p.penalty, x * p.penalty, x < 0.0), hit);
}
