import { defineConfig } from 'vite';

/**
 * Node entry points (CLI, benchmarks) bundled by the same Vite pipeline as the app, so
 * `shaders/*.wgsl?raw` imports resolve identically; npm packages stay external.
 * Add an entry here for each new Node script.
 */
export default defineConfig({
  build: {
    ssr: true,
    outDir: 'dist-node',
    target: 'node20',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: {
        'bench-kernels': 'bench/kernels.ts',
        'bench-load-memory': 'bench/load-memory.ts',
      },
      output: { format: 'es', entryFileNames: '[name].mjs' },
    },
  },
});
