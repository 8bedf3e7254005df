import { defineConfig } from 'vite';

/**
 * Node entry points (CLI, benchmarks) bundled by the same Vite pipeline as the app, so
 * `shaders/*.wgsl?raw` imports resolve identically; npm packages stay external.
 * Add an entry here for each new Node script.
 */
export default defineConfig({
  // The app's public/ folder (models, texts) is read in place by the CLI, not copied.
  publicDir: false,
  build: {
    ssr: true,
    outDir: 'dist-node',
    target: 'node20',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: {
        cli: 'src/cli/main.ts',
        'bench-kernels': 'bench/kernels.ts',
        'bench-speed-sweep': 'bench/speed-sweep.ts',
        'bench-criteria': 'bench/criteria.ts',
        'bench-tasks': 'bench/tasks.ts',
        'bench-heal': 'bench/heal.ts',
        'bench-report': 'bench/report.ts',
        'bench-load-memory': 'bench/load-memory.ts',
        'bench-host': 'bench/host-encode.ts',
        'bench-chromium': 'bench/chromium-engine.ts',
        'bench-quant': 'bench/quant.ts',
      },
      output: { format: 'es', entryFileNames: '[name].mjs' },
    },
  },
});
