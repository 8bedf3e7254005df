/** Runs once before the e2e suite: the browser and the built app must exist, or say what to do. */
import { existsSync } from 'node:fs';
import { CHROMIUM } from './browser';

export default function checkBrowser(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  }
  if (!existsSync('dist/index.html')) throw new Error('dist/ is missing: run `npm run build` before the e2e tests.');
}
