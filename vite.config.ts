import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  // The dev server pre-bundles the dependencies it finds from index.html, and that scan does not
  // reach the engine worker: without the worker here, the first model load discovers
  // @huggingface/tokenizers and the optimizer bundles again mid-load.
  optimizeDeps: { entries: ['index.html', 'src/browser/worker.ts'] },
  // The browser benchmark page (bench/page/chromium.html) is built beside the app, served at /bench/page/chromium.html.
  build: { target: 'es2022', sourcemap: true, rollupOptions: { input: { main: 'index.html', bench: 'bench/page/chromium.html' } } },
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    environment: 'node',
    setupFiles: ['tests/setup-webgpu.ts'],
    globalSetup: ['tests/global-setup.ts'],
    // GPU tests share one software GPU (SwiftShader) on two cores: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
