/**
 * The package as users get it: dist/ works from both `import` and `require`, backendInfo() reports
 * the GEMM backend the build was asked for (LSTM_NATIVE_BLAS), and a missing addon gives one
 * actionable error. Prebuilds and installs from the packed tarball: package-install.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const smoke = `
  const x = m.tensor(new Float32Array(2 * 3 * 4).fill(0.5), [2, 3, 4]);
  const lstm = new m.LSTM({ inputSize: 4, hiddenSize: 5, seed: 1 });
  const { output } = lstm.forward(x);
  console.log(JSON.stringify({ info: m.backendInfo(), shape: output.shape, finite: output.data.every(Number.isFinite) }));
`;

function runNode(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { info: { blas: string; isa: string; threads: number }; shape: number[]; finite: boolean };
}

describe('module formats', () => {
  it('works with import (ESM)', () => {
    const r = runNode(['--input-type=module', '-e', `import * as m from ${JSON.stringify(join(root, 'dist', 'index.js'))};${smoke}`]);
    expect(r.shape).toEqual([2, 3, 5]);
    expect(r.finite).toBe(true);
  });
  it('works with require (CommonJS) through the package exports', () => {
    const r = runNode(['-e', `const m = require(${JSON.stringify(root)});${smoke}`]);
    expect(r.shape).toEqual([2, 3, 5]);
  });
});

describe('backend', () => {
  it('reports the GEMM backend the build was asked for', () => {
    const r = runNode(['--input-type=module', '-e', `import * as m from ${JSON.stringify(join(root, 'dist', 'index.js'))};${smoke}`]);
    const asked = process.env.LSTM_NATIVE_BLAS;
    if (asked === 'builtin' || asked === 'openblas') expect(r.info.blas).toBe(asked);
    else expect(['openblas', 'builtin']).toContain(r.info.blas);
    expect(['avx512', 'avx2', 'neon', 'scalar']).toContain(r.info.isa);
    expect(r.info.threads).toBeGreaterThanOrEqual(1);
    console.log(`backendInfo: ${JSON.stringify(r.info)}`);
  });
});

describe('loading', () => {
  it('fails with one actionable error when no binary can be loaded', () => {
    const empty = mkdtempSync(join(tmpdir(), 'lstm-native-empty-'));
    try {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e',
        `import * as m from ${JSON.stringify(join(root, 'dist', 'index.js'))}; m.backendInfo();`],
      { cwd: root, env: { ...process.env, PREBUILDS_ONLY: '1', LSTM_NATIVE_PREBUILD: empty }, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/lstm-native: could not load the native addon for /);
      expect(r.stderr).toMatch(/npm rebuild lstm-native/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
