/**
 * The Hugging Face Hub path in Chromium: a loopback stand-in for huggingface.co
 * (tests/helpers/hub-server.ts, with HF's CORS headers and error codes) serves the embedded model
 * under /{id}/resolve/main/{file}, and the page loads it by id with its "Hub host" field pointed
 * there. Checks: greedy text equal to the embedded source's, a second load (and a page reload,
 * which remembers the host) served from Cache Storage without a weights request, an unknown id and
 * a gated repo explained while the previous model stays loaded and usable, the token sent once
 * given, and the cache size shown and cleared.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_CACHE_NAME } from '../../src/io/cache';
import { folderFiles, startHubServer, type HubServer } from '../helpers/hub-server';
import { openLab, type Lab } from './browser';

const MIN = 60_000;
const ID = 'lab-test/kjv-tiny-llama';
const GATED = 'lab-test/gated';
const TOKEN = 'hf_lab_test_token';
const WEIGHTS = 'model.safetensors';

let hub: HubServer;
let lab: Lab;
let page: Page;
let weightBytes = 0;
let embeddedText = '';

beforeAll(async () => {
  const files = await folderFiles(join(process.cwd(), 'public/models/kjv-tiny-llama'));
  weightBytes = files.get(WEIGHTS)!.byteLength;
  hub = await startHubServer({ [ID]: { files }, [GATED]: { files, gatedToken: TOKEN } });
  lab = await openLab();
  page = lab.page;
});
afterAll(async () => {
  await lab?.close();
  await hub?.close();
});

/** GET requests the Hub server answered for a repo's weights file. */
const weightGets = (repo: string) => hub.requests.filter((r) => r.method === 'GET' && r.path === `/${repo}/resolve/main/${WEIGHTS}`);
const modelName = () => page.getByTestId('model-name').textContent();
const loadError = () => page.getByTestId('load-error').textContent();

/** The model source the page has written to IndexedDB (idb-keyval's store; the write is asynchronous). */
const rememberedSource = () =>
  page.evaluate(
    () =>
      new Promise<unknown>((resolve, reject) => {
        const db = indexedDB.open('keyval-store');
        db.onerror = () => reject(db.error);
        db.onsuccess = () => {
          const get = db.result.transaction('keyval').objectStore('keyval').get('depth-pruning-lab');
          get.onerror = () => reject(get.error);
          get.onsuccess = () => resolve(get.result ? JSON.parse(get.result as string).state.source : null);
        };
      }),
  );

/** Clicks Load and waits for that load to end (the button is disabled from the click until then). */
async function load(): Promise<void> {
  await page.getByTestId('load-model').click();
  await expect.poll(() => page.getByTestId('load-model').isEnabled(), { timeout: MIN }).toBe(true);
}

async function loadFromHub(id: string): Promise<void> {
  await page.getByRole('radio', { name: 'Hugging Face Hub' }).check();
  await page.getByLabel('Model id').fill(id);
  await load();
}

/** Greedy text of the original model (a fresh run: the panes are cleared when it starts). */
async function generate(): Promise<string> {
  await page.getByTestId('run-generate').click();
  await page.getByTestId('gen-pruned-rate').filter({ hasText: /\d tok\/s$/ }).waitFor({ timeout: MIN });
  await expect.poll(() => page.getByTestId('run-generate').isEnabled(), { timeout: MIN }).toBe(true);
  return (await page.getByTestId('gen-original-text').textContent()) ?? '';
}

it('loads a model by id from a custom Hub host and generates what the embedded source generates', async () => {
  await page.getByTestId('model-facts').waitFor({ timeout: 2 * MIN });
  expect(await modelName()).toBe('kjv-tiny-llama (embedded)');
  await page.getByLabel('Temperature').fill('0');
  await page.getByTestId('max-tokens').fill('8');
  embeddedText = await generate();
  expect(embeddedText.length).toBeGreaterThan(0);

  await page.getByRole('radio', { name: 'Hugging Face Hub' }).check();
  await page.getByLabel('Model id').fill(ID);
  await page.getByLabel(/^Hub host/).fill('ftp://mirror.example');
  expect(await page.getByTestId('load-model').isEnabled()).toBe(false);
  await page.getByLabel(/^Hub host/).fill(hub.url);
  await load();
  await expect.poll(modelName).toBe(`${ID}@main`);
  expect(await page.getByTestId('load-error').count()).toBe(0);
  expect(weightGets(ID).length).toBeGreaterThan(0);
  expect(weightGets(ID).every((r) => r.status === 206 && !r.hasAuth)).toBe(true);
  expect(await generate()).toBe(embeddedText);
}, 3 * MIN);

it('keeps the download in Cache Storage: a second load requests no weights', async () => {
  const keys = await page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => r.url), DEFAULT_CACHE_NAME);
  expect(keys.some((url) => url.includes(encodeURIComponent(ID)) && url.includes(`${WEIGHTS}?block=`))).toBe(true);
  const shown = (await page.getByTestId('hub-cache-size').textContent())!;
  expect(shown).toMatch(/^\d+\.\d MiB$/);
  expect(parseFloat(shown)).toBeGreaterThanOrEqual(Math.floor((weightBytes / 2 ** 20) * 10) / 10);

  // Away to the embedded model and back, so the second Hub load visibly happens.
  await page.getByRole('radio', { name: /^Embedded/ }).check();
  await load();
  await expect.poll(modelName).toBe('kjv-tiny-llama (embedded)');
  const before = hub.requests.length;
  await loadFromHub(ID);
  await expect.poll(modelName).toBe(`${ID}@main`);
  // A reload opens the remembered model; the cache is keyed by host, so a forgotten host would miss it.
  await expect.poll(rememberedSource).toEqual({ kind: 'hub', id: ID, revision: 'main', host: hub.url });
  await page.reload();
  await page.getByTestId('model-facts').waitFor({ timeout: MIN });
  expect(await modelName()).toBe(`${ID}@main`);
  expect(await page.getByLabel(/^Hub host/).inputValue()).toBe(hub.url);
  expect(hub.requests.slice(before).filter((r) => r.path.endsWith(WEIGHTS))).toEqual([]);
}, 2 * MIN);

it('explains an unknown id and keeps the loaded model usable', async () => {
  await loadFromHub('lab-test/no-such-model');
  await expect.poll(loadError).toMatch(/lab-test\/no-such-model.*repository not found.*previous model stays loaded/i);
  expect(await modelName()).toBe(`${ID}@main`);
  expect(await generate()).toBe(embeddedText);
}, 2 * MIN);

it('asks for a token for a gated repo, and sends it once given', async () => {
  await loadFromHub(GATED);
  await expect.poll(loadError).toMatch(/gated.*provide an access token/i);
  expect(await modelName()).toBe(`${ID}@main`);
  expect(weightGets(GATED)).toEqual([]);

  await page.getByLabel(/^Token \(optional/).fill(TOKEN);
  await load();
  await expect.poll(modelName).toBe(`${GATED}@main`);
  expect(await page.getByTestId('load-error').count()).toBe(0);
  expect(weightGets(GATED).length).toBeGreaterThan(0);
  expect(weightGets(GATED).every((r) => r.hasAuth && r.status === 206)).toBe(true);
}, 2 * MIN);

it('clears the download cache', async () => {
  await page.getByTestId('clear-hub-cache').click();
  await expect.poll(() => page.getByTestId('hub-cache-size').textContent()).toBe('0 B');
  expect(await page.evaluate((name) => caches.has(name), DEFAULT_CACHE_NAME)).toBe(false);
  await lab.screenshot('hub');
  // The browser logs each refused request and each probe for an absent file (401, 404) as an error.
  expect(lab.errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[14]/.test(e))).toEqual([]);
});
