import { afterAll, beforeAll, expect, it } from 'vitest';
import { openLab, type Lab } from './browser';

let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => lab?.close());

it('shows the WebGPU adapter acquired by the engine worker', async () => {
  const name = lab.page.getByTestId('adapter-name');
  await name.waitFor({ timeout: 60_000 });
  expect(await name.textContent()).toMatch(/swiftshader/i);
  // Chrome's SwiftShader is recognised as a CPU adapter: the page says so (and the CPU kernels run).
  expect(await lab.page.getByTestId('cpu-adapter').textContent()).toMatch(/on the CPU/);
  await expect.poll(() => lab.page.locator('.tag.on').allTextContents()).toContain('timestamp-query');
  await lab.screenshot('adapter');
  expect(lab.errors).toEqual([]);
});
