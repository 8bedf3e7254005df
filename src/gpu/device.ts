import { GpuError } from './errors';

/** What the app and the engine need to know about the adapter and device they run on. */
export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** Resolves once, when the device is lost (destroyed or a driver reset). */
  lost: Promise<GPUDeviceLostInfo>;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
  hasF16: boolean;
  hasSubgroups: boolean;
  hasTimestamps: boolean;
}

/** Limits requested at the adapter's maximum: large models need big buffers and bindings. */
const MAX_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
] as const;

/** Optional features used as fast paths; every kernel has a fallback without them. */
const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

/** Limits shown in the UI and recorded with benchmark figures. */
const REPORTED_LIMITS = [...MAX_LIMITS, 'minSubgroupSize', 'maxSubgroupSize'];

export async function acquireDevice(gpu: GPU | undefined, label = 'depth-pruning-lab'): Promise<GpuContext> {
  if (!gpu) {
    throw new GpuError(
      'WebGPU is not available here. Use Chrome or Edge 113+; on Linux enable chrome://flags/#enable-unsafe-webgpu ' +
        'and hardware acceleration in the browser settings.',
      'unavailable',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new GpuError(
      'No WebGPU adapter was found. Check that hardware acceleration is on (chrome://gpu) and that the GPU driver ' +
        'is not blocklisted; on Linux enable chrome://flags/#enable-unsafe-webgpu and Vulkan.',
      'unavailable',
    );
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of MAX_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ label, requiredFeatures, requiredLimits });
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) {
    const value = (device.limits as unknown as Record<string, number>)[name] ??
      (info as unknown as Record<string, number>)[uncap(name)];
    if (typeof value === 'number') limits[name] = value;
  }
  const features = [...device.features].sort();
  return {
    device,
    lost: device.lost,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      features,
      limits,
      hasF16: device.features.has('shader-f16'),
      hasSubgroups: device.features.has('subgroups'),
      hasTimestamps: device.features.has('timestamp-query'),
    },
  };
}

/** adapter.info exposes subgroup sizes as subgroupMinSize/subgroupMaxSize in current Chrome. */
function uncap(limitName: string): string {
  if (limitName === 'minSubgroupSize') return 'subgroupMinSize';
  if (limitName === 'maxSubgroupSize') return 'subgroupMaxSize';
  return limitName;
}

/**
 * A CPU implementation of WebGPU (SwiftShader, Mesa's lavapipe/llvmpipe): no on-chip shared memory,
 * few cores, high per-workgroup cost. Kernels pick CPU-friendly variants there.
 */
export function isCpuAdapter(a: AdapterSummary): boolean {
  return a.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test([a.vendor, a.architecture, a.device, a.description].join(' '));
}

/** One line naming the adapter, recorded with every benchmark figure. */
export function describeAdapter(a: AdapterSummary): string {
  const parts = [a.vendor, a.architecture, a.device, a.description].filter((s) => s && s.length > 0);
  return (parts.length ? [...new Set(parts)].join(' / ') : 'unknown adapter') + (a.isFallbackAdapter ? ' (fallback)' : '');
}
