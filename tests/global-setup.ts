/**
 * Runs once before the Node test suite: GPU tests must run, never silently skip. Without a
 * WebGPU-capable Vulkan driver this fails with exactly what to install.
 */
import { existsSync } from 'node:fs';
import { chooseVulkanDriver, nodeGpu, SWIFTSHADER_ICD } from '../src/node/dawn';

export default async function checkWebGpu(): Promise<void> {
  const driver = chooseVulkanDriver();
  const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some(existsSync);
  const adapter = loader ? await nodeGpu().requestAdapter() : null;
  if (!adapter) {
    throw new Error(
      [
        'No WebGPU adapter for the GPU tests (Dawn via the `webgpu` npm package needs a Vulkan driver).',
        loader ? '' : '- The Vulkan loader libvulkan.so.1 is missing: apt-get install libvulkan1',
        driver === 'none'
          ? `- No GPU and no SwiftShader: apt-get install chromium (it ships ${SWIFTSHADER_ICD})`
          : `- Vulkan driver in use: ${driver}; set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} to use SwiftShader`,
        'On Debian: sudo apt-get install -y libvulkan1 chromium  (or run bash .ci/run, which installs both)',
      ].filter(Boolean).join('\n'),
    );
  }
  console.log(`GPU tests run on: ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description} (driver: ${driver})`);
}
