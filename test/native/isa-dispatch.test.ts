/**
 * The load-time choice of the SIMD variant on x86 (native/kernel/cpu_features.cc): AVX2 needs the
 * AVX2 and FMA flags and the OS saving XMM + YMM state (XCR0 bits 1-2); AVX-512, which the gates,
 * the GEMM and the step kernels use, needs AVX-512F and AVX-512DQ (every *_avx512.cc is compiled
 * with both) and the OS saving the opmask and all ZMM state (XCR0 bits 5-7), and never without
 * OSXSAVE (no XGETBV, no saved state). The decision runs on made-up features through a test hook,
 * and this machine's own answer is checked against /proc/cpuinfo where there is one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';

const native = testingNative();
const all = { avx2: true, fma: true, avx512f: true, avx512dq: true, osxsave: true, xcr0: 0xe7 };

describe('x86 ISA decision', () => {
  it('picks avx512 with every flag and XCR0 bits 1, 2, 5, 6, 7', () => {
    expect(native._x86IsaSupport(all)).toEqual({ avx2: true, avx512: true });
    expect(native._x86IsaSupport({ ...all, xcr0: 0xff })).toEqual({ avx2: true, avx512: true });
  });

  it('does not pick avx512 when the OS leaves any of the opmask / ZMM states unsaved', () => {
    for (const bit of [5, 6, 7]) {
      expect(native._x86IsaSupport({ ...all, xcr0: 0xe7 & ~(1 << bit) }), `XCR0 bit ${bit}`)
        .toEqual({ avx2: true, avx512: false });
    }
    expect(native._x86IsaSupport({ ...all, xcr0: 0x07 })).toEqual({ avx2: true, avx512: false });
  });

  it('does not pick avx512 without AVX-512F or AVX-512DQ', () => {
    expect(native._x86IsaSupport({ ...all, avx512f: false })).toEqual({ avx2: true, avx512: false });
    expect(native._x86IsaSupport({ ...all, avx512dq: false })).toEqual({ avx2: true, avx512: false });
  });

  it('picks nothing above scalar without OSXSAVE or saved YMM state, or without AVX2 / FMA', () => {
    const none = { avx2: false, avx512: false };
    expect(native._x86IsaSupport({ ...all, osxsave: false })).toEqual(none);
    expect(native._x86IsaSupport({ ...all, xcr0: 0xe7 & ~4 })).toEqual(none);
    expect(native._x86IsaSupport({ ...all, xcr0: 0xe7 & ~2 })).toEqual(none);
    expect(native._x86IsaSupport({ ...all, avx2: false })).toEqual(none);
    expect(native._x86IsaSupport({ ...all, fma: false })).toEqual(none);
  });

  it('refuses an xcr0 that is not a non-negative integer', () => {
    expect(() => native._x86IsaSupport({ ...all, xcr0: -1 })).toThrow(RangeError);
    expect(() => native._x86IsaSupport({ ...all, xcr0: 1.5 })).toThrow(/xcr0 must be an integer/);
  });
});

describe('this machine', () => {
  const flags = existsSync('/proc/cpuinfo')
    ? (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/)
    : null;
  it.skipIf(!flags || !flags.includes('avx2'))('runs avx512 kernels only where the CPU reports avx512f and avx512dq', () => {
    const info = native.backendInfo();
    const has512 = flags!.includes('avx512f') && flags!.includes('avx512dq');
    if (!has512) {
      expect(info.supportedIsas).not.toContain('avx512');
      expect(info.isa).not.toBe('avx512');
      expect(info.kernels.step).not.toBe('avx512');
    } else if (info.isa === 'avx512') {
      expect(info.kernels.step).toBe('avx512');
    }
  });
});
