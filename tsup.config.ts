import { defineConfig } from 'tsup';

// One source, two module formats: ESM first (`import`), CommonJS for `require`. `shims` gives the
// CommonJS build a working `import.meta.url`, which lib/binding.ts uses to find the addon.
// `keepNames`: the bundler renames classes that clash (LSTM became `_LSTM`), and error messages and
// `constructor.name` must say the public name. `stripInternal`: members marked @internal (the chain
// and block plumbing between layers) stay out of the published declarations.
export default defineConfig({
  // cli: the `lstm` command (bin/lstm.js imports dist/cli.js); shared code goes to common chunks.
  entry: { index: 'lib/index.ts', cli: 'lib/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { stripInternal: true } },
  keepNames: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  outDir: 'dist',
});
