/**
 * The Tasks panel in Chromium: the shipped KJV task fetched by the worker, scored on the original
 * and a one-block plan, the seed-layout table with its difference row, the CSV download, the mask's
 * metrics.zero_shot, and the results kept across a reload.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseMask } from '../../src/prune/mask';
import { ARTIFACTS, openLab, type Lab } from './browser';

const MIN = 60_000;
let lab: Lab;
beforeAll(async () => {
  lab = await openLab();
});
afterAll(async () => lab?.close());

it('runs a shipped task on the original and the current plan, downloads the CSV and the mask with it', async () => {
  const page = lab.page;
  await page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
  await page.getByRole('button', { name: /Block 9: kept/ }).click();
  await page.getByTestId('task-kjv_verse_end').uncheck();
  await page.getByTestId('task-kjv_last_word').check();
  await page.getByTestId('tasks-limit').fill('3');
  await page.getByTestId('tasks-limit').blur();
  await page.getByTestId('run-tasks').click();
  await page.getByTestId('tasks-diff').waitFor({ timeout: 6 * MIN });
  const cells = await page.getByTestId('tasks-row-0').locator('td').allTextContents();
  expect(cells).toHaveLength(2);
  expect(Number(cells[0])).toBeGreaterThanOrEqual(0);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('tasks-csv').click()]);
  const text = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
  expect(text[0]).toBe('model,kjv_last_word,AVE');
  expect(text.map((l) => l.split(',')[0])).toEqual(['model', 'metric', 'original', 'current plan', 'current plan - original']);
  const [maskDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-mask').click()]);
  const mask = parseMask(readFileSync((await maskDownload.path())!, 'utf8'), { numLayers: 16 });
  expect(mask.metrics?.zero_shot?.tasks.map((t) => [t.task, t.items])).toEqual([['kjv_last_word', 3]]);
  await page.reload();
  await page.getByTestId('tasks-diff').waitFor({ timeout: 4 * MIN });
  await page.getByTestId('tasks-panel').screenshot({ path: join(ARTIFACTS, 'tasks.png') });
  expect(lab.errors).toEqual([]);
});
