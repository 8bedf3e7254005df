/**
 * The Heal panel in Chromium (WebGPU on SwiftShader), kept short: the embedded model with blocks 3, 7
 * and 11 removed, 16-token sequences, one a step, 8 steps. Healing starts and its loss chart grows;
 * a pause stops it with a Resume button that continues at the next step; a reload mid-run comes back
 * paused at the last stored step and resumes from it; the run finishes with the held-out PPL before
 * and after; Evaluate adds the healed model's PPL, and Generate shows the original, pruned and
 * pruned + LoRA panes.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fill as fillField, openLab, type Lab } from './browser';

const MIN = 60_000;
let lab: Lab;
let page: Page;
beforeAll(async () => {
  lab = await openLab();
  page = lab.page;
});
afterAll(async () => lab?.close());

const fill = (testId: string, value: string | number) => fillField(page, testId, value);
const chartSteps = async () => Number(await page.getByTestId('heal-chart').getAttribute('data-steps').catch(() => '0'));
const status = async () => (await page.getByTestId('heal-status').textContent()) ?? '';
const stepOf = async () => Number(/step (\d+)/.exec(await status())?.[1] ?? -1);

it('heals: chart, pause / resume, reload and resume, PPL and generation with the healed model', async () => {
  await page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
  for (const b of [3, 7, 11]) await page.getByTestId(`block-${b}`).getByRole('button').click();
  await fill('heal-steps', 8);
  await fill('heal-warmupSteps', 1);
  await fill('heal-lr', 0.01);
  await fill('heal-batch', 1);
  await fill('heal-window', 16);
  await fill('heal-heldoutWindows', 2);
  await page.getByTestId('heal-start').click();
  await expect.poll(chartSteps, { timeout: 5 * MIN, interval: 500 }).toBeGreaterThanOrEqual(2);
  // Pause: the job stops at once; resume continues after the last stored step.
  await page.getByTestId('heal-pause').click();
  await page.getByTestId('heal-resume').waitFor({ timeout: MIN });
  expect(await status()).toMatch(/^Paused · step \d+ of 8/);
  const paused = await stepOf();
  expect(await page.getByTestId('heal-resume').textContent()).toBe(`Resume at step ${paused + 1}`);
  await page.getByTestId('heal-resume').click();
  await expect.poll(stepOf, { timeout: 3 * MIN, interval: 250 }).toBeGreaterThan(paused);
  // A reload mid-run: the run comes back paused at its last stored step and resumes from there.
  await page.reload();
  await page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
  await page.getByTestId('heal-resume').waitFor({ timeout: MIN });
  const reloaded = await stepOf();
  expect(reloaded).toBeGreaterThan(paused);
  expect(await chartSteps()).toBe(reloaded);
  await page.getByTestId('heal-resume').click();
  await expect.poll(status, { timeout: 5 * MIN, interval: 500 }).toMatch(/^Done · step 8 of 8/);
  expect(await chartSteps()).toBe(8);
  expect(await page.getByTestId('heal-ppl').textContent()).toMatch(/^Held-out PPL: pruned [\d.]+ → (step \d [\d.]+ → )*step 8 [\d.]+$/);
  await page.getByTestId('heal-panel').screenshot({ path: 'artifacts/e2e/heal.png' });
  // Evaluate: original, pruned and pruned + LoRA on two 16-token windows.
  await fill('eval-window', 16);
  await fill('eval-max-windows', 2);
  await page.getByTestId('run-ppl').click();
  await expect.poll(async () => page.getByTestId('ppl-healed').textContent().catch(() => ''), { timeout: 3 * MIN }).toMatch(/^\d+\.\d\d$/);
  expect(await page.getByTestId('ppl-pruned').textContent()).toMatch(/^\d+\.\d\d$/);
  // Generate: original, pruned and pruned + LoRA.
  await fill('max-tokens', 4);
  await page.getByTestId('run-generate').click();
  await expect.poll(async () => (await page.getByTestId('gen-healed-text').textContent().catch(() => ''))!.length, { timeout: 3 * MIN }).toBeGreaterThan(0);
  await page.getByTestId('job-generate').waitFor({ state: 'detached', timeout: 3 * MIN });
  expect((await page.getByTestId('gen-original-text').textContent())!.length).toBeGreaterThan(0);
  expect(await page.getByTestId('gen-healed').textContent()).toMatch(/13 blocks/);
  expect(lab.errors).toEqual([]);
}, 20 * MIN);
