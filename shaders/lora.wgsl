// LoRA adapter kernels for one linear layer y = x W^T + s * dropout(x) A^T B^T (PEFT's LoraLayer):
// A [r, K], B [N, r], s = alpha / r, all f32; x [M, K], y and dy [M, N] f32 row-major.
// The frozen path is the shared matmul / backward-linear kernels'; these are the adapter's, each one
// dispatch, fused so the rank-r side never needs a dispatch of its own (a scale, a dropout pass) and
// the dropout mask is drawn where it is used instead of stored:
//   xd(m, k) = x[m, k] * keep(m*K + k) / (1 - p), keep(i) = u(i) >= p with
//   u(i) = (pcg(i ^ pcg(seed ^ salt)) >> 8) / 2^24 (p = 0: xd = x), the same mask for the same seed, salt
//   and index, so the backward regenerates the forward's mask.
//
// entry point `down`    u[m, j] = s * sum_k xd(m, k) A[j, k]              (forward and backward)
//   dispatch: M * ceil(r/4) threads, thread t -> m = t / ceil(r/4), outputs j = 4 (t % ceil(r/4)) .. + 3
// entry point `down4`   `down` with 16-byte loads along k (K % 4 == 0; the wrapper picks it): x and A read as
//   vec4 (bindings 1 and 2 as vec4 views), k summed in chunks of 4 (a dot product each), chunks in order.
//   `grad_a4`, `grad_x4` likewise: four k a thread (K*ceil(r/4)/4 and M*K/4 threads), same sums in the same
//   order as `grad_a` / `grad_x` (bindings 1, 2, 7, 8 as vec4 views).
// entry point `grad_u`  du[m, j] = s * sum_n dy[m, n] B[n, j]            (dL/du of u = s xd A^T, s included)
//   dispatch: as `down`
// entry point `grad_b`  dB[n, j] += sum_m dy[m, n] u[m, j]                (u as `down` wrote it, s included)
//   dispatch: N * ceil(r/4) threads, n = t / ceil(r/4)
// entry point `grad_a`  dA[j, k] += sum_m du[m, j] xd(m, k)
//   dispatch: K * ceil(r/4) threads, k = t % K (neighbouring threads read neighbouring x)
// entry point `grad_x`  dx[m, k] += keep(m*K + k) / (1 - p) * sum_j du[m, j] A[j, k]
//   dispatch: M * K threads
// Bindings: 0 uniform Params { M, N, K, r, scale, p, salt }, 1 x [M, K], 2 a = A, 3 b = B, 4 u [M, r]
// (read_write: `down` writes it), 5 dy [M, N], 6 du [M, r] (read_write: `grad_u` writes it), 7 grad (dA or dB,
// read_write, accumulated: the trainer zeroes it per optimizer step), 8 dx [M, K] read_write, 9 uniform Seed.
// All: WG threads a workgroup (override), 1-D thread index over (x, y); sums in f32 in index order.

//#include "lib/grid.wgsl"

override WG: u32 = 64u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  r: u32,
  scale: f32,
  p: f32,
  salt: u32,
  _pad: u32,
}

struct Seed {
  seed: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> du: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(0) @binding(9) var<uniform> seed: Seed;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;  // down4, grad_a4
@group(0) @binding(2) var<storage, read> a4: array<vec4<f32>>;  // down4, grad_x4
@group(0) @binding(7) var<storage, read_write> grad4: array<vec4<f32>>;  // grad_a4
@group(0) @binding(8) var<storage, read_write> dx4: array<vec4<f32>>;  // grad_x4

// PCG hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// keep(i) / (1 - p): 0 for a dropped element; `stream` = pcg(seed ^ salt), drawn once per thread.
fn keep_scale(i: u32, stream: u32) -> f32 {
  if (prm.p == 0.0) {
    return 1.0;
  }
  let v = f32(pcg(i ^ stream) >> 8u) / 16777216.0;
  return select(0.0, 1.0 / (1.0 - prm.p), v >= prm.p);
}

fn stream() -> u32 {
  return pcg(seed.seed ^ prm.salt);
}

fn xd(m: u32, k: u32, s: u32) -> f32 {
  let i = m * prm.K + k;
  return x[i] * keep_scale(i, s);
}

// Ranks j .. j+3 of a row of a rank-r matrix (those past r read as 0).
fn rank4(j: u32) -> vec4<bool> {
  return vec4<u32>(j, j + 1u, j + 2u, j + 3u) < vec4<u32>(prm.r);
}

fn a_col4(j: u32, k: u32) -> vec4<f32> {
  let K = prm.K;
  let i = min(vec4<u32>(j, j + 1u, j + 2u, j + 3u), vec4<u32>(prm.r - 1u)) * K + k;
  return select(vec4<f32>(0.0), vec4<f32>(a[i.x], a[i.y], a[i.z], a[i.w]), rank4(j));
}

fn b_row4(n: u32, j: u32) -> vec4<f32> {
  let i = n * prm.r + min(vec4<u32>(j, j + 1u, j + 2u, j + 3u), vec4<u32>(prm.r - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(b[i.x], b[i.y], b[i.z], b[i.w]), rank4(j));
}

fn u_row4(m: u32, j: u32) -> vec4<f32> {
  let i = m * prm.r + min(vec4<u32>(j, j + 1u, j + 2u, j + 3u), vec4<u32>(prm.r - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(u[i.x], u[i.y], u[i.z], u[i.w]), rank4(j));
}

fn du_row4(m: u32, j: u32) -> vec4<f32> {
  let i = m * prm.r + min(vec4<u32>(j, j + 1u, j + 2u, j + 3u), vec4<u32>(prm.r - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(du[i.x], du[i.y], du[i.z], du[i.w]), rank4(j));
}

// Stores ranks j .. j+3 of row m of u or du (those past r are not stored).
fn store_u4(m: u32, j: u32, v: vec4<f32>) {
  for (var c = 0u; c < 4u; c++) {
    if (j + c < prm.r) {
      u[m * prm.r + j + c] = v[c];
    }
  }
}

fn store_du4(m: u32, j: u32, v: vec4<f32>) {
  for (var c = 0u; c < 4u; c++) {
    if (j + c < prm.r) {
      du[m * prm.r + j + c] = v[c];
    }
  }
}

fn chunks() -> u32 {
  return (prm.r + 3u) / 4u;
}

@compute @workgroup_size(WG)
fn down(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= prm.M * chunks()) {
    return;
  }
  let m = t / chunks();
  let j = (t % chunks()) * 4u;
  let s = stream();
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < prm.K; k++) {
    acc += xd(m, k, s) * a_col4(j, k);
  }
  store_u4(m, j, prm.scale * acc);
}

@compute @workgroup_size(WG)
fn down4(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= prm.M * chunks()) {
    return;
  }
  let m = t / chunks();
  let j = (t % chunks()) * 4u;
  let K4 = prm.K / 4u;
  // rows of A for ranks j .. j+3 (clamped to the last rank; those past r are dropped below)
  let rows = min(vec4<u32>(j, j + 1u, j + 2u, j + 3u), vec4<u32>(prm.r - 1u)) * K4;
  let s = stream();
  var acc = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let i = m * prm.K + 4u * k4;
    let xv = x4[m * K4 + k4] * keep_scale4(i, s);
    acc += vec4<f32>(dot(xv, a4[rows.x + k4]), dot(xv, a4[rows.y + k4]), dot(xv, a4[rows.z + k4]), dot(xv, a4[rows.w + k4]));
  }
  store_u4(m, j, select(vec4<f32>(0.0), prm.scale * acc, rank4(j)));
}

@compute @workgroup_size(WG)
fn grad_u(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= prm.M * chunks()) {
    return;
  }
  let m = t / chunks();
  let j = (t % chunks()) * 4u;
  var acc = vec4<f32>(0.0);
  for (var n = 0u; n < prm.N; n++) {
    acc += dy[m * prm.N + n] * b_row4(n, j);
  }
  store_du4(m, j, prm.scale * acc);
}

@compute @workgroup_size(WG)
fn grad_b(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= prm.N * chunks()) {
    return;
  }
  let n = t / chunks();
  let j = (t % chunks()) * 4u;
  var acc = vec4<f32>(0.0);
  for (var m = 0u; m < prm.M; m++) {
    acc += dy[m * prm.N + n] * u_row4(m, j);
  }
  for (var c = 0u; c < 4u; c++) {
    if (j + c < prm.r) {
      grad[n * prm.r + j + c] += acc[c];
    }
  }
}

@compute @workgroup_size(WG)
fn grad_a(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= prm.K * chunks()) {
    return;
  }
  let k = t % prm.K;
  let j = (t / prm.K) * 4u;
  let s = stream();
  var acc = vec4<f32>(0.0);
  for (var m = 0u; m < prm.M; m++) {
    acc += xd(m, k, s) * du_row4(m, j);
  }
  for (var c = 0u; c < 4u; c++) {
    if (j + c < prm.r) {
      grad[(j + c) * prm.K + k] += acc[c];
    }
  }
}

@compute @workgroup_size(WG)
fn grad_x(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let t = thread_index(grid, lid, WG);
  if (t >= prm.M * prm.K) {
    return;
  }
  let m = t / prm.K;
  let k = t % prm.K;
  var acc = 0.0;
  for (var j = 0u; j < prm.r; j += 4u) {
    acc += dot(du_row4(m, j), a_col4(j, k));
  }
  dx[t] += keep_scale(t, stream()) * acc;
}

// keep / (1 - p) of elements i .. i+3.
fn keep_scale4(i: u32, s: u32) -> vec4<f32> {
  return vec4<f32>(keep_scale(i, s), keep_scale(i + 1u, s), keep_scale(i + 2u, s), keep_scale(i + 3u, s));
}

@compute @workgroup_size(WG)
fn grad_a4(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let K4 = prm.K / 4u;
  let t = thread_index(grid, lid, WG);
  if (t >= K4 * chunks()) {
    return;
  }
  let k4 = t % K4;
  let j = (t / K4) * 4u;
  let s = stream();
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var m = 0u; m < prm.M; m++) {
    let xv = x4[m * K4 + k4] * keep_scale4(m * prm.K + 4u * k4, s);
    let d = du_row4(m, j);
    a0 += d.x * xv;
    a1 += d.y * xv;
    a2 += d.z * xv;
    a3 += d.w * xv;
  }
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var c = 0u; c < 4u; c++) {
    if (j + c < prm.r) {
      grad4[(j + c) * K4 + k4] += acc[c];
    }
  }
}

@compute @workgroup_size(WG)
fn grad_x4(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let K4 = prm.K / 4u;
  let t = thread_index(grid, lid, WG);
  if (t >= prm.M * K4) {
    return;
  }
  let m = t / K4;
  let k4 = t % K4;
  var acc = vec4<f32>(0.0);
  for (var j = 0u; j < prm.r; j++) {
    acc += du[m * prm.r + j] * a4[j * K4 + k4];
  }
  dx4[t] += keep_scale4(4u * t, stream()) * acc;
}
