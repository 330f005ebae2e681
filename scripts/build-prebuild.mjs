#!/usr/bin/env node
// Makes the prebuild of this machine: prebuilds/<platform>-<arch>/lstm-native.napi[.glibc|.musl].node,
// named the way node-gyp-build looks for it (and loads with PREBUILDS_ONLY=1). One job of the
// release matrix runs this per target; scripts/release-pack.mjs then checks the set and packs it
// (docs/releasing.md).
//
// Why not prebuildify: it can only drive node-gyp (prebuild/prebuildify#49), and its build step
// moves build/Release/*.node away, which would take the local build out from under the tests. This
// builds in its own folder with cmake-js instead: build-prebuild/ of the package root unless
// --build-dir says otherwise. The folder is kept, so a second run only recompiles what changed.
//
// The GEMM of a prebuild defaults to the built-in one, so the file loads on machines without
// OpenBLAS; LSTM_NATIVE_BLAS=openblas makes one that needs libopenblas0 at run time.
// Usage: node scripts/build-prebuild.mjs [--out DIR] [--build-dir DIR]   (--out: the package root)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' }, 'build-dir': { type: 'string' } } });
const out = resolve(values.out ?? root);
const buildDir = resolve(values['build-dir'] ?? join(root, 'build-prebuild'));
const blas = process.env.LSTM_NATIVE_BLAS || 'builtin';

const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
  stdio: 'inherit',
  env: { ...process.env, LSTM_NATIVE_BLAS: blas, LSTM_NATIVE_BUILD_DIR: buildDir },
});
if (built.status !== 0) process.exit(built.status ?? 1);

const release = join(buildDir, 'Release');
const addon = readdirSync(release).find((f) => f.endsWith('.node'));
if (!addon) {
  console.error(`lstm-native: no .node file in ${release}`);
  process.exit(1);
}
const tags = ['lstm-native', 'napi'];
if (process.platform === 'linux') {
  const header = /** @type {{ header?: { glibcVersionRuntime?: string } }} */ (process.report.getReport());
  tags.push(header.header?.glibcVersionRuntime ? 'glibc' : 'musl');
}
const folder = join(out, 'prebuilds', `${process.platform}-${process.arch}`);
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
const dest = join(folder, `${tags.join('.')}.node`);
copyFileSync(join(release, addon), dest);
if (process.platform !== 'win32') {
  const strip = spawnSync('strip', [process.platform === 'darwin' ? '-x' : '--strip-unneeded', dest], { stdio: 'inherit' });
  if (strip.error) console.warn(`lstm-native: strip not available (${strip.error.message}); prebuild left unstripped`);
}
console.log(`lstm-native: prebuild written to ${dest} (GEMM: ${blas})`);
