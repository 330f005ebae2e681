#!/usr/bin/env node
// Builds the addon with cmake-js into build/Release/lstm_native.node.
// LSTM_NATIVE_BLAS=builtin|openblas|auto (default auto) picks the GEMM backend; when it changes
// from the last build, the build folder is reconfigured from scratch so CMake sees the new choice.
// --if-missing (npm install): first ask node-gyp-build's own check whether a prebuild or an
// earlier build loads here, quietly (its failure is the normal case of a fresh clone, not an
// error to print), and build only when none does.
// --test-hooks (npm test): also build the test addon (CMake option LSTM_NATIVE_TEST_HOOKS) into
// <build>/test-hooks/build/Release/lstm_native.node, against the same GEMM backend; once on, the
// build folder keeps building it (so a later plain build leaves the tests' addon current).
// --asan: the sanitizer build (CMake option LSTM_NATIVE_SANITIZE: ASan + UBSan, and the kernel's
// leak-check driver native/kernel_tests/) into build-asan/ (or LSTM_NATIVE_BUILD_DIR), never into
// the normal build folder; that folder stays a sanitizer build on later calls (its stamp says so).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const asanAsked = process.argv.includes('--asan');
const outDir = process.env.LSTM_NATIVE_BUILD_DIR || join(root, asanAsked ? 'build-asan' : 'build');
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

// The stamp holds the backend, whether the test addon is built and whether this is the sanitizer
// build: "builtin", "builtin+test-hooks", "builtin+test-hooks+asan".
const stamp = join(outDir, '.lstm-native-blas');
const [prevBlas, ...prevFlags] = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim().split('+') : [null];
const prevHooks = prevFlags.includes('test-hooks');
const prevAsan = prevFlags.includes('asan');
const hooks = process.argv.includes('--test-hooks') || prevHooks;
const asan = asanAsked || prevAsan;
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const cmakeJsRun = (command) => {
  const args = [cmakeJs, command, '--directory', root, '--out', outDir, '--CDLSTM_NATIVE_BLAS=' + blas,
    '--CDLSTM_NATIVE_TEST_HOOKS=' + (hooks ? 'ON' : 'OFF'),
    ...(asan ? ['--CDLSTM_NATIVE_SANITIZE=ON', '--CDLSTM_NATIVE_KERNEL_TESTS=ON'] : []),
    '--parallel', String(Math.max(2, availableParallelism()))];
  return spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root,
    env: { ...process.env, LSTM_NATIVE_BLAS: blas } }).status;
};
console.log(`lstm-native: building the addon${hooks ? ' and the test addon' : ''}${asan ? ' with ASan + UBSan' : ''} ` +
  `(GEMM: ${blas === 'auto' ? 'OpenBLAS if found, else built-in' : blas})`);
// A new backend: from scratch. The test addon newly asked for: configure again (the option is
// cached), then build what is missing. Else an incremental build.
let status;
if (prevBlas !== blas || asan !== prevAsan) status = cmakeJsRun('rebuild');
else if (hooks && !prevHooks) status = cmakeJsRun('configure') || cmakeJsRun('compile');
else status = cmakeJsRun('compile');
if (status !== 0) {
  console.error('lstm-native: the native build failed. It needs cmake (>= 3.15) and a C++17 compiler ' +
    '(Debian: apt-get install cmake g++); OpenBLAS (libopenblas-dev) is optional.');
  process.exit(status ?? 1);
}
mkdirSync(outDir, { recursive: true });
writeFileSync(stamp, blas + (hooks ? '+test-hooks' : '') + (asan ? '+asan' : '') + '\n');
