import { defineConfig } from 'tsup';

// One source, two module formats: ESM first (`import`), CommonJS for `require`. `shims` gives the
// CommonJS build a working `import.meta.url`, which lib/binding.ts uses to find the addon.
export default defineConfig({
  entry: ['lib/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  outDir: 'dist',
});
