#!/usr/bin/env node
// Runs the `lstm predict` input fuzz test (test/reliability/predict-fuzz.test.ts) with a larger
// budget than CI's 20,000 lines:
//   node scripts/fuzz-predict.mjs [cases=1000000] [seed]
// Every mutated JSONL or CSV line must give one output record (a result or an error), in order,
// and the command must exit 0; a failure prints the seed and the first bad lines, to be kept as a
// regression case in that test. Runs the built command (dist/: `npm run build:ts`).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const cases = Number(process.argv[2] ?? 1_000_000);
const seed = process.argv[3] ?? String(Date.now() % 2 ** 31);
if (!Number.isSafeInteger(cases) || cases < 1) {
  console.error(`fuzz-predict: cases must be a positive integer, got ${process.argv[2]}`);
  process.exit(2);
}
console.log(`fuzz-predict: ${cases} lines, seed ${seed}`);
const r = spawnSync('npx', ['vitest', 'run', 'test/reliability/predict-fuzz.test.ts'], {
  cwd: root, stdio: 'inherit',
  env: { ...process.env, LSTM_NATIVE_FUZZ_PREDICT_CASES: String(cases), LSTM_NATIVE_FUZZ_SEED: seed },
});
process.exit(r.status ?? 1);
