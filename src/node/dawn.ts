/**
 * WebGPU in Node through Dawn (the `webgpu` npm package). Used by tests, the CLI and benchmarks;
 * the browser uses navigator.gpu instead. Node-only: never import this from the app.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { create, globals } from 'webgpu';
import { acquireDevice, type GpuContext } from '../gpu/device';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Picks the Vulkan driver before Dawn loads it: an explicit VK_ICD_FILENAMES wins; a machine with
 * a GPU device node (/dev/nvidia*, /dev/dri/renderD*) uses the system drivers; otherwise
 * SwiftShader from Debian's chromium. (Driver manifests alone prove nothing: Mesa installs Intel
 * and Radeon manifests on machines without those GPUs, and Debian 12's lavapipe is too old for Dawn.)
 */
export function chooseVulkanDriver(): string {
  // Vulkan's window-system probing complains on stderr when this is unset (headless machines, CI).
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  if (process.env.VK_ICD_FILENAMES) return process.env.VK_ICD_FILENAMES;
  if (hasGpuDeviceNode()) return 'system';
  if (existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    return SWIFTSHADER_ICD;
  }
  return 'none';
}

function hasGpuDeviceNode(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  return existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
}

// Install GPUBufferUsage, GPUMapMode, GPUBuffer, ... as globals, as the browser has them.
Object.assign(globalThis, globals);

let gpu: GPU | undefined;

/** The process-wide navigator.gpu equivalent for Node. */
export function nodeGpu(): GPU {
  if (!gpu) {
    chooseVulkanDriver();
    // Dawn rounds timestamps to 2^16 ns by default (a browser's guard against timing attacks), which
    // makes single-kernel timings meaningless on a real GPU; Node runs no untrusted code.
    gpu = create(['disable-dawn-features=timestamp_quantization']);
  }
  return gpu;
}

export function acquireNodeDevice(label?: string): Promise<GpuContext> {
  return acquireDevice(nodeGpu(), label);
}
