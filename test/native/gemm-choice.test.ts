/**
 * Which GEMM each class of product runs on (native/kernel/gemm_choice.h): the rule on made-up
 * inputs (a build without OpenBLAS always runs the built-in GEMM; LSTM_NATIVE_GEMM forces one;
 * the built-in AVX-512 kernels win outright, the scalar ones lose to OpenBLAS, AVX2 calibrates),
 * and this build's report in backendInfo().gemm, in a child process per setting.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const native = testingNative();
const classes = ['lstmForward', 'lstmBackward', 'linearForward', 'linearBackward'];

function childGemm(env: Record<string, string>): { blas: string; isa: string; gemm: Record<string, string> } {
  const script = `const n = require('node-gyp-build')(${JSON.stringify(ROOT)}); const i = n.backendInfo();
    process.stdout.write(JSON.stringify({ blas: i.blas, isa: i.isa, gemm: i.gemm }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, LSTM_NATIVE_GEMM: '', LSTM_NATIVE_LSTM_GEMM: '', ...env },
  })) as { blas: string; isa: string; gemm: Record<string, string> };
}

describe('GEMM rule', () => {
  it('runs the built-in GEMM when OpenBLAS is not linked, whatever is asked', () => {
    for (const isa of ['scalar', 'avx2', 'avx512', 'neon']) {
      for (const forced of ['', 'openblas', 'builtin']) expect(native._gemmRule(false, isa, forced)).toBe('builtin');
    }
  });

  it('follows LSTM_NATIVE_GEMM=builtin | openblas when OpenBLAS is linked', () => {
    for (const isa of ['scalar', 'avx2', 'avx512']) {
      expect(native._gemmRule(true, isa, 'builtin')).toBe('builtin');
      expect(native._gemmRule(true, isa, 'openblas')).toBe('openblas');
    }
  });

  it('otherwise: built-in on AVX-512, OpenBLAS over scalar kernels, a calibration on AVX2', () => {
    for (const forced of ['', 'auto', 'blas']) {
      expect(native._gemmRule(true, 'avx512', forced)).toBe('builtin');
      expect(native._gemmRule(true, 'scalar', forced)).toBe('openblas');
      expect(native._gemmRule(true, 'neon', forced)).toBe('openblas');
      expect(native._gemmRule(true, 'avx2', forced)).toBe('calibrate');
    }
  });

  it('refuses an unknown ISA name', () => {
    expect(() => native._gemmRule(true, 'sse2', '')).toThrow(RangeError);
  });
});

describe('backendInfo().gemm', () => {
  it('names a GEMM for every class; built-in for all of them without OpenBLAS', () => {
    const info = native.backendInfo();
    expect(Object.keys(info.gemm).sort()).toEqual([...classes].sort());
    for (const c of classes) expect(['builtin', 'openblas']).toContain(info.gemm[c as keyof typeof info.gemm]);
    if (info.blas === 'builtin') for (const c of classes) expect(info.gemm[c as keyof typeof info.gemm]).toBe('builtin');
  });

  it('keeps the LSTM classes on the built-in GEMM by default, so their bits do not depend on the thread count', () => {
    const info = childGemm({});
    expect(info.gemm.lstmForward).toBe('builtin');
    expect(info.gemm.lstmBackward).toBe('builtin');
  }, 60_000);

  it('follows LSTM_NATIVE_GEMM and LSTM_NATIVE_LSTM_GEMM (OpenBLAS only where linked)', () => {
    const forcedBuiltin = childGemm({ LSTM_NATIVE_GEMM: 'builtin' });
    for (const c of classes) expect(forcedBuiltin.gemm[c]).toBe('builtin');
    const forcedBlas = childGemm({ LSTM_NATIVE_GEMM: 'openblas' });
    const lstmBlas = childGemm({ LSTM_NATIVE_LSTM_GEMM: 'blas', LSTM_NATIVE_GEMM: 'builtin' });
    const expected = forcedBlas.blas === 'openblas' ? 'openblas' : 'builtin';
    for (const c of classes) expect(forcedBlas.gemm[c]).toBe(expected);
    expect(lstmBlas.gemm).toEqual({ lstmForward: expected, lstmBackward: expected, linearForward: 'builtin',
      linearBackward: 'builtin' });
  }, 60_000);
});
