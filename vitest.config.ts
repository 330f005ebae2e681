import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Forks, so a native crash kills one worker and is reported, instead of taking the runner down.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Output arrays the kernels write in full are allocated without zeroing (lib/uninitialized.ts);
    // in the tests they start as NaN, so a path that leaves an element unwritten fails.
    env: {
      LSTM_NATIVE_POISON_OUTPUTS: '1',
      // The library under test loads the test addon (test/helpers/testing-addon.ts), built first.
      LSTM_NATIVE_PREBUILD: join(process.env.LSTM_NATIVE_BUILD_DIR || fileURLToPath(new URL('build', import.meta.url)), 'test-hooks'),
    },
    globalSetup: ['test/helpers/global-setup.ts'],
    hookTimeout: 120_000,
  },
});
