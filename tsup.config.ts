import { defineConfig } from 'tsup';

// One source, two module formats: ESM first (`import`), CommonJS for `require`. `shims` gives the
// CommonJS build a working `import.meta.url`, which lib/binding.ts uses to find the addon.
export default defineConfig({
  // cli: the `lstm` command (bin/lstm.js imports dist/cli.js); shared code goes to common chunks.
  entry: { index: 'lib/index.ts', cli: 'lib/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  outDir: 'dist',
});
