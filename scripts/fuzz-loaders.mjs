#!/usr/bin/env node
// Runs the loader fuzz test (test/io/fuzz.test.ts) with a larger budget than CI's 20,000 cases:
//   node scripts/fuzz-loaders.mjs [cases=1000000] [seed]
// Every case must load a valid model or throw a coded error naming its source; a failure prints the
// case number, the seed and the start of the input, so it can be kept as a regression case.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const cases = Number(process.argv[2] ?? 1_000_000);
const seed = process.argv[3] ?? String(Date.now() % 2 ** 31);
if (!Number.isSafeInteger(cases) || cases < 1) {
  console.error(`fuzz-loaders: cases must be a positive integer, got ${process.argv[2]}`);
  process.exit(2);
}
console.log(`fuzz-loaders: ${cases} cases, seed ${seed}`);
const r = spawnSync('npx', ['vitest', 'run', 'test/io/fuzz.test.ts', '-t', 'mutated files'], {
  cwd: root, stdio: 'inherit',
  env: { ...process.env, LSTM_NATIVE_FUZZ_CASES: String(cases), LSTM_NATIVE_FUZZ_SEED: seed },
});
process.exit(r.status ?? 1);
