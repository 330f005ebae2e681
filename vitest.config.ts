import { defineConfig } from 'vitest/config';

// Forks, so a native crash kills one worker and is reported, instead of taking the runner down.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
