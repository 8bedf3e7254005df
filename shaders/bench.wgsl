// Roofline probes for bench/kernels.ts (not used by the model).
//
// entry point `read_probe`  streaming-read bandwidth: sums a large buffer
//   bindings : 0 uniform Params { n4, iters }   1 src : array<vec4<f32>> [n4]   2 dst : array<f32> [threads]
//   dispatch : G workgroups of 256 along x (G*256 = threads); thread t reads src[t], src[t + threads], ...
//              (each step of the grid reads one contiguous span: coalesced) and writes its sum once.
//
// entry point `fma_probe`   arithmetic throughput: 8 independent vec4 FMA chains per thread
//   bindings : 0 uniform Params { n4, iters }   2 dst : array<f32> [threads]
//   dispatch : G workgroups of 256 along x; FLOPs = G * 256 * iters * 8 chains * 4 lanes * 2.
//   precision: irrelevant (values stay bounded: multiplier < 1); the sum is written so nothing is eliminated.

struct Params {
  n4: u32,
  iters: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn read_probe(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let threads = nwg.x * 256u;
  var acc = vec4<f32>(0.0);
  for (var i = gid.x; i < p.n4; i += threads) {
    acc += src[i];
  }
  dst[gid.x] = acc.x + acc.y + acc.z + acc.w;
}

@compute @workgroup_size(256)
fn fma_probe(@builtin(global_invocation_id) gid: vec3u) {
  let seed = f32(gid.x & 255u) * 1e-3;
  let b = vec4<f32>(0.999, 0.998, 0.997, 0.996);
  let c = vec4<f32>(1e-3);
  var a0 = vec4<f32>(seed);
  var a1 = a0 + 0.1;
  var a2 = a0 + 0.2;
  var a3 = a0 + 0.3;
  var a4 = a0 + 0.4;
  var a5 = a0 + 0.5;
  var a6 = a0 + 0.6;
  var a7 = a0 + 0.7;
  for (var i = 0u; i < p.iters; i++) {
    a0 = fma(a0, b, c);
    a1 = fma(a1, b, c);
    a2 = fma(a2, b, c);
    a3 = fma(a3, b, c);
    a4 = fma(a4, b, c);
    a5 = fma(a5, b, c);
    a6 = fma(a6, b, c);
    a7 = fma(a7, b, c);
  }
  let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  dst[gid.x] = s.x + s.y + s.z + s.w;
}
