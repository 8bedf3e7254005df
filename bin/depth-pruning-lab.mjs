#!/usr/bin/env node
// Entry point of `npx depth-pruning-lab`: the CLI bundled by `npm run build:node` (Vite, so the
// WGSL shader imports resolve as in the app).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist-node', 'cli.mjs');
if (!existsSync(cli)) {
  console.error('The CLI is not built yet: run `npm run build:node` in the depth-pruning-lab folder first.');
  process.exit(1);
}
await import(cli);
