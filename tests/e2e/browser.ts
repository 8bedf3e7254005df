/**
 * End-to-end harness: the built app served by `vite preview` on loopback, driven in Debian's
 * Chromium with WebGPU on SwiftShader (flags verified in shared/DESIGN.md). Never a downloaded browser.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'artifacts', 'e2e');

const SWIFTSHADER_FLAGS = ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader'];
/** The machine's GPU (a benchmark on a hardware adapter), timestamps not rounded to 100 us. */
const HARDWARE_FLAGS = ['--enable-webgpu-developer-features'];

const WEBGPU_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Lab {
  url: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far, for assertions and failure messages. */
  errors: string[];
  screenshot: (name: string) => Promise<string>;
  close: () => Promise<void>;
}

/** Serves dist/ (run `vite build` first) and opens it in a fresh Chromium profile, on SwiftShader unless `hardwareAdapter`. */
export async function openLab(path = '/', o: { hardwareAdapter?: boolean } = {}): Promise<Lab> {
  const server: PreviewServer = await preview({ preview: { host: '127.0.0.1', port: 0, strictPort: false }, logLevel: 'warn' });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview did not bind a TCP port');
  const url = `http://127.0.0.1:${address.port}${path}`;
  const profile = mkdtempSync(join(tmpdir(), 'dpl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...WEBGPU_FLAGS, ...(o.hardwareAdapter ? HARDWARE_FLAGS : SWIFTSHADER_FLAGS)],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    url,
    context,
    page,
    errors,
    screenshot: async (name) => {
      const file = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: async () => {
      await context.close();
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Types a value into a NumberField (by test id) and leaves it, so the page takes the value. */
export async function fill(page: Page, testId: string, value: string | number): Promise<void> {
  const input = page.getByTestId(testId);
  await input.fill(String(value));
  await input.blur();
}

/** The kept blocks as the block stack shows them. */
export async function keptPlan(page: Page): Promise<number[]> {
  const states = await page.locator('[data-testid="block-stack"] > li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-state')));
  return states.flatMap((s, i) => (s === 'kept' ? [i] : []));
}
