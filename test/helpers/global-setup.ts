/**
 * vitest globalSetup: builds the test addon (and the shipped one) before any test runs, with the
 * GEMM backend of LSTM_NATIVE_BLAS, or of the last build when it is unset (so running the tests
 * never switches the backend behind the developer's back). Incremental: a no-op build when nothing
 * changed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const outDir = process.env.LSTM_NATIVE_BUILD_DIR || join(root, 'build');
  const stamp = join(outDir, '.lstm-native-blas');
  const lastBlas = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim().split('+')[0] : undefined;
  const blas = process.env.LSTM_NATIVE_BLAS || lastBlas || 'auto';
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--test-hooks'],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LSTM_NATIVE_BLAS: blas } });
  if (result.status !== 0) throw new Error(`building the test addon failed (exit ${result.status})`);
}
