/**
 * The Frontier panel in Chromium (WebGPU on SwiftShader), kept small: two data-light criteria, a
 * sweep to k = 3 on two 32-token windows; the chart draws, pointing at a point names its removed
 * blocks, a click makes that plan the current one, a shared link restores it in a fresh profile,
 * the presentation view shows both generations and the speedup, and the sweep survives a reload.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fill as fillField, keptPlan as keptPlanOf, openLab, type Lab } from './browser';

const MIN = 60_000;
let lab: Lab;
let page: Page;
beforeAll(async () => {
  lab = await openLab();
  page = lab.page;
});
afterAll(async () => lab?.close());

const fill = (testId: string, value: string | number) => fillField(page, testId, value);

const keptPlan = () => keptPlanOf(page);

it('sweeps two criteria, draws the frontier, a click on a point sets the plan, a shared link restores it', async () => {
  await page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
  for (const c of ['ppl', 'taylor', 'magnitude', 'block-influence', 'angular', 'iterative-ppl']) {
    const box = page.getByTestId(`criterion-${c}`);
    if ((await box.isChecked()) !== ['magnitude', 'block-influence'].includes(c)) await box.click();
  }
  await fill('cal-n', 2);
  await fill('cal-t', 32);
  await page.getByTestId('run-scoring').click();
  await page.getByTestId('done-block-influence').waitFor({ timeout: 5 * MIN });
  await fill('eval-window', 32);
  await fill('frontier-windows', 2);
  await fill('frontier-max-k', 3);
  await page.getByTestId('frontier-axis').selectOption('removed');
  await page.getByTestId('run-sweep').click();
  await page.getByTestId('frontier-table').waitFor({ timeout: 5 * MIN });
  expect(await page.getByTestId('error-sweep').count()).toBe(0);
  // Two lines of k = 0..3.
  expect(await page.locator('[data-testid="frontier-table"] tbody tr').count()).toBe(8);
  const over = page.locator('[data-testid="frontier-chart"] .u-over');
  await over.waitFor({ timeout: MIN });
  await over.scrollIntoViewIfNeeded();
  const box = (await over.boundingBox())!;
  // Point across the plot until the hover names a k = 3 point, then click it.
  let hovered = '';
  let x = box.width - 2;
  for (; x > 0; x -= 4) {
    await over.hover({ position: { x, y: box.height / 2 } });
    hovered = (await page.getByTestId('frontier-hover').textContent()) ?? '';
    if (/k = 3:/.test(hovered)) break;
  }
  const removed = /removes ([\d, ]+?), PPL/.exec(hovered)?.[1]?.split(',').map((s) => Number(s.trim()));
  expect(removed, `${hovered} ${lab.errors.join(" ")}`).toHaveLength(3);
  expect(await keptPlan()).toHaveLength(16);
  await over.click({ position: { x, y: box.height / 2 } });
  await expect.poll(keptPlan).toEqual(Array.from({ length: 16 }, (_, i) => i).filter((i) => !removed!.includes(i)));
  await page.getByTestId('frontier-panel').screenshot({ path: 'artifacts/e2e/frontier.png' });
  expect(await page.locator('[data-testid="frontier-table"] tr.current').count()).toBeGreaterThan(0);
  // A shared link opened in a fresh browser profile restores the plan (and the settings).
  await page.getByTestId('share-link').click();
  const hash = await page.evaluate(() => location.hash);
  expect(hash).toMatch(/^#lab=/);
  const fresh = await openLab(`/${hash}`);
  try {
    await fresh.page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
    await expect.poll(() => keptPlanOf(fresh.page), { timeout: MIN }).toEqual(await keptPlan());
    expect(await fresh.page.getByTestId('frontier-windows').inputValue()).toBe('2');
  } finally {
    await fresh.close();
  }
  // The presentation view: both generations side by side with the speedup.
  await fill('max-tokens', 8);
  await page.getByTestId('present').click();
  await page.getByTestId('present-generate').click();
  await expect.poll(async () => page.getByTestId('present-speedup').textContent(), { timeout: 3 * MIN }).toMatch(/^\d+\.\d\d×$/);
  expect((await page.getByTestId('present-pruned-text').textContent())!.length).toBeGreaterThan(0);
  await lab.screenshot('frontier-presentation');
  await page.keyboard.press('Escape');
  await page.getByTestId('presentation').waitFor({ state: 'detached' });
  // The sweep is persisted with the model's record.
  await page.reload();
  await page.getByTestId('frontier-table').waitFor({ timeout: 4 * MIN });
  expect(await page.locator('[data-testid="frontier-table"] tbody tr').count()).toBe(8);
}, 15 * MIN);
