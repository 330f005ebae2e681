#!/usr/bin/env node
// Builds the addon with cmake-js into build/Release/lstm_native.node.
// LSTM_NATIVE_BLAS=builtin|openblas|auto (default auto) picks the GEMM backend; when it changes
// from the last build, the build folder is reconfigured from scratch so CMake sees the new choice.
// --if-missing (npm install): first ask node-gyp-build's own check whether a prebuild or an
// earlier build loads here, quietly (its failure is the normal case of a fresh clone, not an
// error to print), and build only when none does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const outDir = process.env.LSTM_NATIVE_BUILD_DIR || join(root, 'build');
const blas = process.env.LSTM_NATIVE_BLAS || 'auto';
if (!['auto', 'openblas', 'builtin'].includes(blas)) {
  console.error(`lstm-native: LSTM_NATIVE_BLAS must be auto, openblas or builtin, got "${blas}"`);
  process.exit(1);
}

if (process.argv.includes('--if-missing')) {
  const check = spawnSync(process.execPath, [require.resolve('node-gyp-build/build-test.js')],
    { stdio: 'ignore', cwd: root });
  if (check.status === 0) {
    console.log('lstm-native: a prebuilt or earlier build of the addon loads; nothing to build');
    process.exit(0);
  }
}

const stamp = join(outDir, '.lstm-native-blas');
const previous = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : null;
const command = previous === blas ? 'compile' : 'rebuild';
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, command, '--directory', root, '--out', outDir, '--CDLSTM_NATIVE_BLAS=' + blas,
  '--parallel', String(Math.max(2, (await import('node:os')).availableParallelism()))];
console.log(`lstm-native: building the addon (GEMM: ${blas === 'auto' ? 'OpenBLAS if found, else built-in' : blas})`);
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root,
  env: { ...process.env, LSTM_NATIVE_BLAS: blas } });
if (result.status !== 0) {
  console.error('lstm-native: the native build failed. It needs cmake (>= 3.15) and a C++17 compiler ' +
    '(Debian: apt-get install cmake g++); OpenBLAS (libopenblas-dev) is optional.');
  process.exit(result.status ?? 1);
}
mkdirSync(outDir, { recursive: true });
writeFileSync(stamp, blas + '\n');
