/**
 * The lab end to end in Chromium (WebGPU on SwiftShader), with small settings so the whole flow
 * stays within minutes: the embedded model loads on the first visit; PPL and Taylor+ scores are
 * computed and drawn; "prune 20%" drops what selectBlocks picks on the displayed scores; PPL,
 * side-by-side generation, the speed benchmark; the mask downloads, validates, re-imports after a
 * reload; a bad mask is refused with its issues and changes nothing. Screenshots: artifacts/e2e/,
 * and the README's docs/lab.png.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseMask } from '../../src/prune/mask';
import { blocksForRatio, selectBlocks, SEED_PROTECTED } from '../../src/prune/select';
import { ARTIFACTS, fill as fillField, keptPlan as keptPlanOf, openLab, type Lab } from './browser';

const CRITERIA = (process.env.E2E_CRITERIA ?? 'ppl,taylor').split(',');
/** The criterion the plan is selected by (the first one computed). */
const BY = CRITERIA[0]!;
const MIN = 60_000;
const README_SCREENSHOT = join(process.cwd(), 'docs', 'lab.png');

let lab: Lab;
let page: Page;
const t0 = Date.now();
const log = (what: string) => console.log(`[lab.e2e +${((Date.now() - t0) / 1000).toFixed(0)}s] ${what}`);

beforeAll(async () => {
  lab = await openLab();
  page = lab.page;
});
afterAll(async () => lab?.close());

const fill = (testId: string, value: string | number) => fillField(page, testId, value);

/** A full-page screenshot from the top (the block stack is sticky while scrolled). */
async function pageShot(name: string) {
  await page.evaluate(() => scrollTo(0, 0));
  await lab.screenshot(name);
}

async function panelShot(testId: string, name: string) {
  await page.getByTestId(testId).screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

const keptPlan = () => keptPlanOf(page);

async function displayedScores(criterion: string): Promise<number[]> {
  return page.locator(`[data-testid="block-stack"] .bar-track[data-criterion="${criterion}"]`).evaluateAll((els) =>
    els.map((e) => {
      const v = e.getAttribute('data-score');
      return v === null || v === '' ? Infinity : Number(v);
    }),
  );
}

it('loads the embedded model on the first visit', async () => {
  await page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
  expect(await page.getByTestId('model-blocks').textContent()).toBe('16');
  await page.getByTestId('block-stack').waitFor();
  expect(await page.locator('[data-testid="block-stack"] > li').count()).toBe(16);
  log('model loaded');
  await panelShot('model-panel', 'lab-model');
}, 5 * MIN);

it('shows a loader error and keeps the loaded model', async () => {
  const dir = join(ARTIFACTS, 'bad-model');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{"architectures": ["LlamaForCausalLM"], "num_hidden_layers": ');
  await page.getByRole('radio', { name: 'Local folder' }).check();
  await page.getByLabel('Pick a model folder').setInputFiles(dir);
  await page.getByTestId('load-model').click();
  await page.getByTestId('load-error').waitFor({ timeout: MIN });
  expect(await page.getByTestId('load-error').textContent()).toMatch(/config\.json|JSON|safetensors|tokenizer/i);
  expect(await page.getByTestId('model-name').textContent()).toBe('kjv-tiny-llama (embedded)');
  await panelShot('model-panel', 'lab-model-error');
  await page.getByRole('radio', { name: /Embedded/ }).check();
}, 2 * MIN);

it('computes PPL and Taylor+ scores on a small calibration set and draws them', async () => {
  for (const c of ['ppl', 'taylor', 'magnitude', 'block-influence', 'angular', 'iterative-ppl']) {
    const box = page.getByTestId(`criterion-${c}`);
    if ((await box.isChecked()) !== CRITERIA.includes(c)) await box.click();
  }
  await fill('cal-n', 2);
  await fill('cal-t', 32);
  // A run can be cancelled: nothing is stored and no error shown.
  await page.getByTestId('run-scoring').click();
  await page.getByTestId('job-score').getByRole('button', { name: 'Cancel' }).click({ timeout: MIN });
  await page.getByTestId('job-score').waitFor({ state: 'detached', timeout: 2 * MIN });
  expect(await page.getByTestId('error-score').count()).toBe(0);
  expect(await page.locator('[data-testid="block-stack"] .bar-track').count()).toBe(0);
  log('scoring cancelled');
  await page.getByTestId('run-scoring').click();
  await page.getByTestId('job-score').locator('progress[value]').waitFor({ timeout: 2 * MIN });
  await panelShot('criteria-panel', 'lab-criteria-running');
  await page.getByTestId('job-score').waitFor({ state: 'detached', timeout: 8 * MIN });
  expect(await page.getByTestId('error-score').count()).toBe(0);
  for (const c of CRITERIA) {
    const scores = await displayedScores(c);
    expect(scores).toHaveLength(16);
    expect(scores.every((s) => Number.isFinite(s))).toBe(true);
  }
  log('scored');
  await panelShot('criteria-panel', 'lab-criteria');
}, 10 * MIN);

it('"prune 20%" drops the blocks selectBlocks picks on the displayed scores', async () => {
  await page.getByTestId('select-criterion').selectOption(BY);
  await page.getByTestId('prune-mode').selectOption('ratio');
  await fill('prune-ratio', 20);
  await page.getByTestId('prune').click();
  const expected = selectBlocks(await displayedScores(BY), blocksForRatio(0.2, 16), SEED_PROTECTED);
  await expect.poll(keptPlan).toEqual(expected.kept);
  expect(expected.removed).toHaveLength(3);
  expect(await page.getByTestId('removed-count').textContent()).toBe('3');
  // Toggling by keyboard, then undo / redo.
  await page.getByTestId('block-5').getByRole('button').focus();
  await page.keyboard.press('Enter');
  await expect.poll(keptPlan).not.toEqual(expected.kept);
  await page.getByTestId('undo').click();
  await expect.poll(keptPlan).toEqual(expected.kept);
  await page.getByTestId('redo').click();
  await expect.poll(keptPlan).not.toEqual(expected.kept);
  await page.getByTestId('undo').click();
  await expect.poll(keptPlan).toEqual(expected.kept);
  // Half the removable blocks for the rest of the flow: a clear PPL cost and speedup on a noisy machine.
  await page.getByTestId('prune-mode').selectOption('k');
  await fill('prune-k', 8);
  await page.getByTestId('prune').click();
  await expect.poll(keptPlan).toEqual(selectBlocks(await displayedScores(BY), 8, SEED_PROTECTED).kept);
  await panelShot('blocks-panel', 'lab-blocks');
  log('pruned');
});

it('evaluates a pruned PPL different from the original', async () => {
  await fill('eval-window', 64);
  await fill('eval-max-windows', 2);
  await page.getByTestId('run-ppl').click();
  await page.getByTestId('ppl-pruned').filter({ hasText: /^\d+\.\d\d$/ }).waitFor({ timeout: 6 * MIN });
  const original = await page.getByTestId('ppl-original').textContent();
  const pruned = await page.getByTestId('ppl-pruned').textContent();
  expect(original).toMatch(/^\d+\.\d\d$/);
  expect(pruned).not.toBe(original);
  log(`ppl ${original} -> ${pruned}`);
  await panelShot('evaluate-panel', 'lab-evaluate');
}, 8 * MIN);

it('streams generated text into both panes with tokens/s', async () => {
  await fill('max-tokens', 8);
  await page.getByTestId('run-generate').click();
  await page.getByTestId('gen-original-rate').filter({ hasText: /tok\/s/ }).waitFor({ timeout: 4 * MIN });
  await page.getByTestId('gen-pruned-rate').filter({ hasText: /\d\.\d tok\/s/ }).waitFor({ timeout: 4 * MIN });
  await expect.poll(() => page.getByTestId('run-generate').isEnabled(), { timeout: 4 * MIN }).toBe(true);
  expect((await page.getByTestId('gen-original-text').textContent())!.length).toBeGreaterThan(0);
  expect((await page.getByTestId('gen-pruned-text').textContent())!.length).toBeGreaterThan(0);
  // The first generation compiled the pipelines in an untimed warm-up; the second, same shape, needed none.
  expect(await page.getByTestId('gen-original-warmup').count()).toBe(1);
  expect(await page.getByTestId('gen-pruned-warmup').count()).toBe(0);
  log(`generated: ${await page.getByTestId('gen-original-rate').textContent()} (warm-up ${await page.getByTestId('gen-original-warmup').textContent()}), pruned ${await page.getByTestId('gen-pruned-rate').textContent()}`);
  await panelShot('generate-panel', 'lab-generate');
}, 8 * MIN);

it('benchmarks a speedup above 1 for the pruned plan', async () => {
  await fill('speed-prompt', 8);
  await fill('speed-new', 8);
  await fill('speed-warmup', 1);
  await fill('speed-runs', 1);
  await fill('sweep-step', 4);
  await page.getByTestId('run-benchmark').click();
  await page.getByTestId('speedup').filter({ hasText: /×$/ }).waitFor({ timeout: 9 * MIN });
  const speedup = Number((await page.getByTestId('speedup').textContent())!.replace('×', ''));
  log(`speedup ${speedup}`);
  expect(speedup).toBeGreaterThan(1);
  await page.getByTestId('speed-chart').locator('canvas').waitFor({ timeout: MIN });
  await panelShot('speed-panel', 'lab-speed');
}, 10 * MIN);

let maskText = '';
it('downloads a mask that validates against the schema', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-mask').click()]);
  const file = join(ARTIFACTS, 'lab-mask.json');
  await download.saveAs(file);
  maskText = readFileSync(file, 'utf8');
  const mask = parseMask(maskText, { numLayers: 16 });
  expect(mask.kept).toEqual(await keptPlan());
  expect(mask.criterion.name).toBe(BY);
  for (const c of CRITERIA) expect(mask.scores[c as 'ppl']).toHaveLength(16);
  expect(mask.metrics?.perplexity?.before).toBeGreaterThan(0);
  expect(mask.metrics?.speed?.decode_tokens_per_s.after).toBeGreaterThan(0);
  await pageShot('lab-page');
  // The README's screenshot (docs/lab.png): the top of the page with scores and a plan, as a
  // visitor first sees it; every run rewrites it, so it follows the page.
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: README_SCREENSHOT });
});

it('downloads the pruned checkpoint as separate files', async () => {
  const names: string[] = [];
  const onDownload = (d: { suggestedFilename(): string }) => names.push(d.suggestedFilename());
  page.on('download', onDownload);
  await page.getByTestId('export-checkpoint').click();
  await page.getByTestId('exported-files').waitFor({ timeout: 3 * MIN });
  await expect.poll(() => names.length).toBeGreaterThanOrEqual(4);
  page.off('download', onDownload);
  expect(names).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'pruning_mask.json']));
  await panelShot('export-panel', 'lab-export');
}, 4 * MIN);

it('keeps everything across a reload and re-imports the mask to the same plan', async () => {
  const plan = await keptPlan();
  const ppl = await page.getByTestId('ppl-pruned').textContent();
  await page.reload();
  await page.getByTestId('model-facts').waitFor({ timeout: 4 * MIN });
  await expect.poll(keptPlan, { timeout: MIN }).toEqual(plan);
  expect(await page.getByTestId('ppl-pruned').textContent()).toBe(ppl);
  expect((await displayedScores(BY)).every(Number.isFinite)).toBe(true);
  expect(await page.getByTestId('speedup').textContent()).toMatch(/×$/);
  await page.getByTestId('restore-all').click();
  await expect.poll(keptPlan).toHaveLength(16);
  await page.getByTestId('import-mask').setInputFiles({ name: 'mask.json', mimeType: 'application/json', buffer: Buffer.from(maskText) });
  await expect.poll(keptPlan).toEqual(plan);
  expect(await page.getByTestId('mask-message').textContent()).toMatch(/imported/);
  log('reloaded and re-imported');
}, 5 * MIN);

it('refuses a bad mask with its issues and changes nothing', async () => {
  const plan = await keptPlan();
  const bad = JSON.parse(maskText);
  bad.kept = bad.kept.slice(1);
  bad.model.hf_token = 'hf_abc';
  bad.lab_version = 7;
  const file = join(ARTIFACTS, 'lab-bad-mask.json');
  writeFileSync(file, JSON.stringify(bad));
  await page.getByTestId('import-mask').setInputFiles(file);
  await page.getByTestId('mask-issues').waitFor({ timeout: MIN });
  const issues = await page.getByTestId('mask-issues').locator('li').allTextContents();
  expect(issues.length).toBeGreaterThanOrEqual(2);
  expect(issues.join('\n')).toMatch(/hf_token/);
  expect(await page.getByTestId('mask-message').getAttribute('role')).toBe('alert');
  expect(await keptPlan()).toEqual(plan);
  await panelShot('export-panel', 'lab-export-error');
  await pageShot('lab-page-after-reload');
  await page.emulateMedia({ colorScheme: 'dark' });
  await pageShot('lab-page-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByTestId('speed-panel').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ARTIFACTS, 'lab-viewport-1280x800.png') });
  expect(lab.errors.filter((e) => !/favicon/.test(e))).toEqual([]);
  log('done');
});
