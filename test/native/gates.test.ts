/**
 * The LSTM gate kernels (native/kernel/gates_*.cc) through the test hooks of
 * native/testing/binding_testing_gates.cc (test addon):
 *   1. every SIMD variant this CPU runs agrees with the scalar float32 reference, forward and backward,
 *      including vector tails (H not a multiple of the width), aliasing as BPTT uses it, and no writes
 *      outside the rows;
 *   2. the scalar float64 variant equals a plain JS float64 transcription of the formulas in gates.h;
 *   3. each ISA's exp / sigmoid / tanh is accurate to a few float32 ulp over the whole float range,
 *      propagates NaN and never makes one from a finite input;
 *   4. the hooks reject bad arguments with TypeError/RangeError messages naming the argument.
 * Variants the CPU or build cannot run are skipped with `it.skipIf`, and the test name says so.
 *
 * Error unit used below: a difference is divided by the float32 ulp of a magnitude bound M of the
 * value (for a single activation M = |value|, so this is the plain ulp error; for a sum such as
 * c = f*cPrev + i*g, M = |f*cPrev| + |i*g|, the scale that rounding errors are proportional to, so
 * cancellation does not turn a rounding difference into a false failure).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';
import { rng } from '../helpers/compare.js';

const native = testingNative();
const supported = native._supportedIsas();
const SIMD_ISAS = ['avx512', 'avx2', 'neon'] as const;
const HS = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100];
const ROWS = 3;

/** Agreement bound for SIMD vs scalar float32 (ulps of the magnitude bound). Measured on avx2: 2.0. */
const SIMD_VS_SCALAR_ULP = 8;
/** Accuracy bound of each activation against float64 (ulps). Measured values are in the test below. */
const ACTIVATION_ULP = 4;

const skipNote = (isa: string) =>
  supported.includes(isa) ? '' : ` (skipped: ${isa} is not supported by this CPU/build; supported: ${supported.join(', ')})`;

// ---- helpers ------------------------------------------------------------------------------------

/** Pre-activations covering saturation (|a| up to 30), the curved part, small values and zero. */
function mixedValue(r: () => number): number {
  const u = r();
  const s = r() * 2 - 1;
  if (u < 0.3) return s * 30;
  if (u < 0.6) return s * 4;
  if (u < 0.75) return s * 0.625;
  if (u < 0.9) return s * 1e-3;
  if (u < 0.97) return s * 1e-20;
  return 0;
}

const f64Scratch = new Float64Array(1);
const u32Scratch = new Uint32Array(f64Scratch.buffer);
/** The spacing of float32 numbers at |v| (2^-149 in the denormal range). */
function ulp32(v: number): number {
  f64Scratch[0] = v;
  const e = ((u32Scratch[1]! >>> 20) & 0x7ff) - 1023; // floor(log2 |v|) for a normal double
  return 2 ** (Math.max(e, -126) - 23);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface Worst { err: number; where: string }
function track(w: Worst, err: number, where: () => string): void {
  if (!(err <= w.err)) {
    w.err = err;
    w.where = where();
  }
}

function forwardInputs(seed: number, rows: number, H: number): { a: Float32Array; cPrev: Float32Array } {
  const r = rng(seed);
  const a = new Float32Array(rows * 4 * H).map(() => mixedValue(r));
  const cPrev = new Float32Array(rows * H).map(() => mixedValue(r) / 3);
  return { a, cPrev };
}

function runForward(isa: string, rows: number, H: number, a0: Float32Array, cPrev: Float32Array) {
  const a = a0.slice();
  const c = new Float32Array(rows * H);
  const tc = new Float32Array(rows * H);
  const h = new Float32Array(rows * H);
  native._gatesForward(isa, rows, H, a, cPrev, c, tc, h);
  return { a, c, tc, h };
}

// ---- 1. SIMD variants against the scalar float32 reference ---------------------------------------

describe('gates: SIMD variants against the scalar float32 reference', () => {
  for (const isa of SIMD_ISAS) {
    it.skipIf(!supported.includes(isa))(`${isa} forward agrees with scalar at H in {${HS.join(', ')}}${skipNote(isa)}`, () => {
      const worst: Worst = { err: 0, where: '' };
      for (const H of HS) {
        const { a, cPrev } = forwardInputs(1000 + H, ROWS, H);
        const ref = runForward('scalar', ROWS, H, a, cPrev);
        const got = runForward(isa, ROWS, H, a, cPrev);
        for (let r = 0; r < ROWS; ++r) {
          for (let j = 0; j < H; ++j) {
            const g4 = r * 4 * H + j;
            const k = r * H + j;
            // Gates: plain ulp error of each activation.
            for (let q = 0; q < 4; ++q) {
              const v = ref.a[g4 + q * H]!;
              track(worst, Math.abs(got.a[g4 + q * H]! - v) / ulp32(v), () => `H=${H} row ${r} gate ${'ifgo'[q]} col ${j}: a=${a[g4 + q * H]} ${isa} ${got.a[g4 + q * H]} scalar ${v}`);
            }
            const [i, f, g, o] = [ref.a[g4]!, ref.a[g4 + H]!, ref.a[g4 + 2 * H]!, ref.a[g4 + 3 * H]!];
            const tcv = ref.tc[k]!;
            const mC = Math.abs(f * cPrev[k]!) + Math.abs(i * g);
            const mTc = Math.abs(tcv) + (1 - tcv * tcv) * mC;
            const mH = Math.abs(o) * mTc;
            track(worst, Math.abs(got.c[k]! - ref.c[k]!) / ulp32(mC), () => `H=${H} c[${k}]: ${isa} ${got.c[k]} scalar ${ref.c[k]}`);
            track(worst, Math.abs(got.tc[k]! - tcv) / ulp32(mTc), () => `H=${H} tc[${k}]: ${isa} ${got.tc[k]} scalar ${tcv}`);
            track(worst, Math.abs(got.h[k]! - ref.h[k]!) / ulp32(mH), () => `H=${H} h[${k}]: ${isa} ${got.h[k]} scalar ${ref.h[k]}`);
          }
        }
      }
      console.log(`gates ${isa} forward vs scalar: worst ${worst.err.toFixed(3)} ulp (${worst.where})`);
      expect(worst.err).toBeLessThanOrEqual(SIMD_VS_SCALAR_ULP);
    });

    it.skipIf(!supported.includes(isa))(`${isa} backward agrees with scalar at H in {${HS.join(', ')}}${skipNote(isa)}`, () => {
      const worst: Worst = { err: 0, where: '' };
      const names = ['di', 'df', 'dg', 'do'];
      for (const H of HS) {
        // Realistic inputs: gates and tanh(c) from the scalar forward, random incoming gradients.
        const { a, cPrev } = forwardInputs(2000 + H, ROWS, H);
        const fw = runForward('scalar', ROWS, H, a, cPrev);
        const r = rng(3000 + H);
        const dh = new Float32Array(ROWS * H).map(() => (r() * 2 - 1) * (r() < 0.2 ? 1e-4 : 1));
        const dc = new Float32Array(ROWS * H).map(() => (r() * 2 - 1) * (r() < 0.2 ? 50 : 1));
        const run = (which: string) => {
          const da = new Float32Array(ROWS * 4 * H);
          const dcPrev = new Float32Array(ROWS * H);
          native._gatesBackward(which, ROWS, H, da, dcPrev, fw.a, cPrev, fw.tc, dh, dc);
          return { da, dcPrev };
        };
        const ref = run('scalar');
        const got = run(isa);
        for (let row = 0; row < ROWS; ++row) {
          for (let j = 0; j < H; ++j) {
            const g4 = row * 4 * H + j;
            const k = row * H + j;
            const [i, f, g, o] = [fw.a[g4]!, fw.a[g4 + H]!, fw.a[g4 + 2 * H]!, fw.a[g4 + 3 * H]!];
            const t = fw.tc[k]!;
            // Magnitude bounds: each factor (1 - x^2) is bounded by 1 + x^2, a sum by the sum of |terms|.
            const mDct = Math.abs(dc[k]!) + Math.abs(dh[k]! * o) * (1 + t * t);
            const bounds = [
              mDct * Math.abs(g * i * (1 - i)),
              mDct * Math.abs(cPrev[k]! * f * (1 - f)),
              mDct * Math.abs(i) * (1 + g * g),
              Math.abs(dh[k]! * t * o * (1 - o)),
            ];
            for (let q = 0; q < 4; ++q) {
              const idx = g4 + q * H;
              track(worst, Math.abs(got.da[idx]! - ref.da[idx]!) / ulp32(bounds[q]!), () => `H=${H} ${names[q]}[${k}]: ${isa} ${got.da[idx]} scalar ${ref.da[idx]}`);
            }
            track(worst, Math.abs(got.dcPrev[k]! - ref.dcPrev[k]!) / ulp32(mDct * Math.abs(f)), () => `H=${H} dcPrev[${k}]: ${isa} ${got.dcPrev[k]} scalar ${ref.dcPrev[k]}`);
          }
        }
      }
      console.log(`gates ${isa} backward vs scalar: worst ${worst.err.toFixed(3)} ulp (${worst.where})`);
      expect(worst.err).toBeLessThanOrEqual(SIMD_VS_SCALAR_ULP);
    });
  }

  for (const isa of ['scalar', ...SIMD_ISAS]) {
    it.skipIf(!supported.includes(isa))(`${isa}: dcPrev may alias dc (as BPTT calls it) and nothing outside the rows is written${skipNote(isa)}`, () => {
      for (const H of HS) {
        const pad = 20;
        const sentinel = 12345.5;
        // Views into larger buffers filled with a sentinel: a write past a view's end changes it.
        const view = (n: number) => new Float32Array(n + 2 * pad).fill(sentinel).subarray(pad, pad + n);
        const intact = (v: Float32Array) => {
          const whole = new Float32Array(v.buffer);
          return whole.subarray(0, pad).every((x) => x === sentinel) && whole.subarray(pad + v.length).every((x) => x === sentinel);
        };
        const { a: a0, cPrev: cp0 } = forwardInputs(4000 + H, ROWS, H);
        const a = view(ROWS * 4 * H); a.set(a0);
        const cPrev = view(ROWS * H); cPrev.set(cp0);
        const c = view(ROWS * H), tc = view(ROWS * H), h = view(ROWS * H);
        native._gatesForward(isa, ROWS, H, a, cPrev, c, tc, h);
        for (const v of [a, c, tc, h]) expect(intact(v), `forward H=${H}`).toBe(true);
        const ref = runForward(isa, ROWS, H, a0, cp0);
        expect(Array.from(h)).toEqual(Array.from(ref.h));

        const r = rng(5000 + H);
        const dh = new Float32Array(ROWS * H).map(() => r() * 2 - 1);
        const dcIn = new Float32Array(ROWS * H).map(() => r() * 2 - 1);
        const separate = new Float32Array(ROWS * H);
        const daSep = new Float32Array(ROWS * 4 * H);
        native._gatesBackward(isa, ROWS, H, daSep, separate, a, cPrev, tc, dh, dcIn);
        const shared = view(ROWS * H); shared.set(dcIn);
        const da = view(ROWS * 4 * H);
        native._gatesBackward(isa, ROWS, H, da, shared, a, cPrev, tc, dh, shared);
        for (const v of [da, shared]) expect(intact(v), `backward H=${H}`).toBe(true);
        expect(Array.from(shared)).toEqual(Array.from(separate));
        expect(Array.from(da)).toEqual(Array.from(daSep));
      }
    });
  }
});

// ---- 2. scalar float64 against a plain JS float64 reference ----------------------------------------

describe('gates: scalar float64 against a JS float64 transcription of gates.h', () => {
  it('forward and backward agree within 1e-14 of the magnitude of each value', () => {
    const H = 37;
    const rows = 4;
    const r = rng(77);
    const a0 = new Float64Array(rows * 4 * H).map(() => mixedValue(r));
    const cPrev = new Float64Array(rows * H).map(() => mixedValue(r) / 3);
    const a = a0.slice();
    const c = new Float64Array(rows * H), tc = new Float64Array(rows * H), h = new Float64Array(rows * H);
    native._gatesForward('scalar', rows, H, a, cPrev, c, tc, h);
    const dh = new Float64Array(rows * H).map(() => r() * 2 - 1);
    const dc = new Float64Array(rows * H).map(() => (r() * 2 - 1) * 5);
    const da = new Float64Array(rows * 4 * H), dcPrev = new Float64Array(rows * H);
    native._gatesBackward('scalar', rows, H, da, dcPrev, a, cPrev, tc, dh, dc);

    let worst = 0;
    const check = (got: number, want: number, magnitude: number) => {
      const err = Math.abs(got - want) / magnitude;
      if (!(err <= worst)) worst = err;
    };
    for (let row = 0; row < rows; ++row) {
      for (let j = 0; j < H; ++j) {
        const g4 = row * 4 * H + j, k = row * H + j;
        const i = sigmoid(a0[g4]!), f = sigmoid(a0[g4 + H]!), g = Math.tanh(a0[g4 + 2 * H]!), o = sigmoid(a0[g4 + 3 * H]!);
        const cv = f * cPrev[k]! + i * g, tcv = Math.tanh(cv), hv = o * tcv;
        const mC = Math.abs(f * cPrev[k]!) + Math.abs(i * g), mTc = Math.abs(tcv) + mC, mH = Math.abs(o) * mTc;
        [i, f, g, o].forEach((v, q) => check(a[g4 + q * H]!, v, Math.abs(v)));
        check(c[k]!, cv, mC);
        check(tc[k]!, tcv, mTc);
        check(h[k]!, hv, mH);
        // Backward from the kernel's own forward outputs, so only the backward formulas are compared.
        const [gi, gf, gg, go] = [a[g4]!, a[g4 + H]!, a[g4 + 2 * H]!, a[g4 + 3 * H]!];
        const t = tc[k]!;
        const dcTot = dc[k]! + dh[k]! * go * (1 - t * t);
        const mDct = Math.abs(dc[k]!) + Math.abs(dh[k]! * go) * (1 + t * t);
        check(da[g4]!, dcTot * gg * gi * (1 - gi), mDct * Math.abs(gg * gi * (1 - gi)));
        check(da[g4 + H]!, dcTot * cPrev[k]! * gf * (1 - gf), mDct * Math.abs(cPrev[k]! * gf * (1 - gf)));
        check(da[g4 + 2 * H]!, dcTot * gi * (1 - gg * gg), mDct * Math.abs(gi) * (1 + gg * gg));
        check(da[g4 + 3 * H]!, dh[k]! * t * go * (1 - go), Math.abs(dh[k]! * t * go * (1 - go)));
        check(dcPrev[k]!, dcTot * gf, mDct * Math.abs(gf));
      }
    }
    console.log(`gates scalar float64 vs JS reference: worst relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-14);
  });
});

// ---- 3. activation accuracy over the float range -------------------------------------------------

/** float32 values just around b: 2k consecutive floats centred on fround(b). */
function around(b: number, k: number): number[] {
  const f = new Float32Array([b]);
  const bits = new Int32Array(f.buffer);
  const out: number[] = [];
  const base = bits[0]!;
  for (let d = -k; d < k; ++d) {
    bits[0] = base + d;
    out.push(f[0]!);
  }
  return out;
}

function sweepInputs(): Float32Array {
  const xs: number[] = [];
  const N = 2_000_000;
  for (let k = 0; k < N; ++k) xs.push(-100 + (200 * k) / (N - 1));
  // Magnitudes from below the smallest denormal to 1e3, both signs: relative accuracy near 0.
  for (let k = 0; k <= 100_000; ++k) {
    const m = 10 ** (-46 + (49 * k) / 100_000);
    xs.push(m, -m);
  }
  // Branch points and range limits: exp overflow (88.72) and underflow (-87.34 denormal, -103.97
  // zero), sigmoid's sign switch, tanh's polynomial / exp switch (0.625) and saturation (~9).
  for (const b of [88.7228, -87.3365, -103.972, -103.279, 0.625, -0.625, 9.01, -9.01, 44.36, 1e-38, -1e-38]) {
    xs.push(...around(b, 2000));
  }
  const special = [0, -0, Infinity, -Infinity, NaN, 3.4028234663852886e38, -3.4028234663852886e38, 1e30, -1e30,
    1.401298464324817e-45, -1.401298464324817e-45, 1.1754943508222875e-38, 88.72283935546875, 88.72284698486328,
    -103.97207641601562, -104, -150, 200, 1e-7, -1e-7];
  xs.push(...special);
  return new Float32Array(xs);
}

const REFERENCE: Record<'exp' | 'sigmoid' | 'tanh', (x: number) => number> = {
  exp: Math.exp,
  // The float64 value of the mathematical sigmoid, both signs accurate.
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
};

describe('gates: activation accuracy against float64', () => {
  const xs = sweepInputs();
  // Measured max error against float64 (ulp), AMD EPYC with AVX2 (no AVX-512):
  //   this sweep (2.24e6 points): avx2   exp 0.85, sigmoid 2.12, tanh 1.30
  //                               scalar exp 0.50, sigmoid 2.12, tanh 1.93 (glibc expf / tanhf)
  //   all 2^32 float inputs (scratch C++ harness): avx2 exp 0.874, sigmoid 2.402, tanh 1.371
  //   neon under qemu-aarch64 (every 251st float): exp 0.84, sigmoid 2.20, tanh 1.31
  // avx512 runs the same formulas as avx2 lane for lane; it is only checked where the CPU has it.
  for (const isa of ['scalar', ...SIMD_ISAS]) {
    it.skipIf(!supported.includes(isa))(`${isa}: exp, sigmoid, tanh within ${ACTIVATION_ULP} ulp; NaN in -> NaN out, never NaN from a finite input${skipNote(isa)}`, () => {
      const out = new Float32Array(xs.length);
      const report: string[] = [];
      for (const kind of ['exp', 'sigmoid', 'tanh'] as const) {
        native._activation(isa, kind, xs, out);
        const ref = REFERENCE[kind];
        const worst: Worst = { err: 0, where: '' };
        let nanProblems = 0;
        let infProblems = 0;
        for (let k = 0; k < xs.length; ++k) {
          const x = xs[k]!, y = out[k]!;
          if (Number.isNaN(x)) {
            if (!Number.isNaN(y)) ++nanProblems;
            continue;
          }
          if (Number.isNaN(y)) { ++nanProblems; continue; }
          const want = ref(x);
          const want32 = Math.fround(want);
          if (!Number.isFinite(want32) || !Number.isFinite(y)) {
            if (y !== want32) ++infProblems;
            continue;
          }
          if (Object.is(want32, -0) !== Object.is(y, -0) && want32 === 0 && kind === 'tanh') ++infProblems;
          track(worst, Math.abs(y - want) / ulp32(want), () => `x=${x}: got ${y}, float64 ${want}`);
        }
        report.push(`${kind} ${worst.err.toFixed(3)} ulp (${worst.where})`);
        expect(nanProblems, `${isa} ${kind}: NaN handling`).toBe(0);
        expect(infProblems, `${isa} ${kind}: infinities / signed zero`).toBe(0);
        expect(worst.err, `${isa} ${kind}: ${worst.where}`).toBeLessThanOrEqual(ACTIVATION_ULP);
      }
      console.log(`activation ${isa} max error over ${xs.length} points: ${report.join('; ')}`);
    });
  }

  it('the tail of an odd-length array gives the same values as the body', () => {
    // Position independence: a value computed in a masked / padded tail equals the same value in a full vector.
    const x = new Float32Array(Array.from({ length: 37 }, (_, k) => (k - 18) * 1.37));
    for (const isa of supported) {
      for (const kind of ['exp', 'sigmoid', 'tanh']) {
        const full = new Float32Array(37);
        native._activation(isa, kind, x, full);
        for (let n = 1; n <= 37; ++n) {
          const part = new Float32Array(n);
          native._activation(isa, kind, x.subarray(37 - n), part);
          expect(Array.from(part), `${isa} ${kind} n=${n}`).toEqual(Array.from(full.subarray(37 - n)));
        }
      }
    }
  });
});

// ---- 4. argument errors of the hooks, and ISA selection --------------------------------------------

describe('gates: test hooks reject bad arguments', () => {
  const H = 2, rows = 3;
  const f32 = (n: number) => new Float32Array(n);
  const fwdArgs = () => [f32(rows * 4 * H), f32(rows * H), f32(rows * H), f32(rows * H), f32(rows * H)] as const;
  const unsupported = SIMD_ISAS.find((isa) => !supported.includes(isa))!;
  const simd = SIMD_ISAS.find((isa) => supported.includes(isa));

  it('an unknown isa is a RangeError naming it and listing the supported ones', () => {
    expect(() => native._gatesForward('sse9', rows, H, ...fwdArgs())).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_LSTM_ARG_RANGE' }),
    );
    expect(() => native._gatesForward('sse9', rows, H, ...fwdArgs())).toThrow(
      new RegExp(`^_gatesForward: isa 'sse9' is unknown \\(supported here: ${supported.join(', ')}\\)$`),
    );
    expect(() => native._activation('AVX2', 'exp', f32(1), f32(1))).toThrow(/^_activation: isa 'AVX2' is unknown/);
  });

  it(`an isa this CPU/build cannot run (${unsupported}) is a RangeError, never called`, () => {
    expect(() => native._gatesBackward(unsupported, rows, H, f32(rows * 4 * H), f32(rows * H), f32(rows * 4 * H),
      f32(rows * H), f32(rows * H), f32(rows * H), f32(rows * H))).toThrow(
      new RegExp(`^_gatesBackward: isa '${unsupported}' cannot run on this CPU/build \\(supported here: ${supported.join(', ')}\\)$`),
    );
    expect(() => native._activation(unsupported, 'tanh', f32(4), f32(4))).toThrow(RangeError);
  });

  it('a wrong array kind is a TypeError naming the argument', () => {
    const [a, cPrev, c, tc, h] = fwdArgs();
    expect(() => native._gatesForward('scalar', rows, H, new Int32Array(rows * 4 * H) as unknown as Float32Array, cPrev, c, tc, h)).toThrow(
      /^_gatesForward: a must be a Float32Array or Float64Array, got an? Int32Array of 24 elements$/,
    );
    // All arrays of one call share the dtype of the first.
    expect(() => native._gatesForward('scalar', rows, H, a, new Float64Array(rows * H), c, tc, h)).toThrow(
      /^_gatesForward: cPrev must be a Float32Array, got a Float64Array of 6 elements$/,
    );
    expect(() => native._gatesBackward('scalar', rows, H, new Float64Array(rows * 4 * H), new Float64Array(rows * H),
      new Float64Array(rows * 4 * H), new Float64Array(rows * H), f32(rows * H), new Float64Array(rows * H), new Float64Array(rows * H))).toThrow(
      /^_gatesBackward: tc must be a Float64Array, got a Float32Array of 6 elements$/,
    );
    expect(() => native._activation('scalar', 'exp', [1, 2] as unknown as Float32Array, f32(2))).toThrow(
      /^_activation: x must be a Float32Array, got an Array$/,
    );
    expect(() => native._gatesForward(7 as unknown as string, rows, H, a, cPrev, c, tc, h)).toThrow(
      /^_gatesForward: isa must be a string, got the number 7$/,
    );
  });

  it('wrong lengths and sizes are RangeErrors naming the argument and the expected size', () => {
    const [a, cPrev, c, tc, h] = fwdArgs();
    expect(() => native._gatesForward('scalar', rows, H, a, cPrev, f32(5), tc, h)).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_LSTM_ARG_RANGE', message: '_gatesForward: c must have 6 elements (rows*H), got 5' }),
    );
    expect(() => native._gatesForward('scalar', rows, H, f32(25), cPrev, c, tc, h)).toThrow(
      /^_gatesForward: a must have 24 elements \(rows\*4H\), got 25$/,
    );
    expect(() => native._gatesBackward('scalar', rows, H, f32(24), f32(6), f32(23), f32(6), f32(6), f32(6), f32(6))).toThrow(
      /^_gatesBackward: gates must have 24 elements \(rows\*4H\), got 23$/,
    );
    expect(() => native._gatesBackward('scalar', rows, H, f32(24), f32(6), f32(24), f32(6), f32(6), f32(6), f32(7))).toThrow(
      /^_gatesBackward: dc must have 6 elements \(rows\*H\), got 7$/,
    );
    expect(() => native._gatesForward('scalar', 1.5, H, a, cPrev, c, tc, h)).toThrow(/^_gatesForward: rows must be an integer in \[0, 2147483647\], got the number 1.5$/);
    expect(() => native._gatesForward('scalar', rows, 0, a, cPrev, c, tc, h)).toThrow(/^_gatesForward: H must be an integer in \[1, 268435456\], got the number 0$/);
    expect(() => native._activation('scalar', 'exp', f32(10), f32(9))).toThrow(/^_activation: out must have 10 elements \(x.length\), got 9$/);
    expect(() => native._activation('scalar', 'relu', f32(1), f32(1))).toThrow(
      /^_activation: kind 'relu' is unknown \(expected 'exp', 'sigmoid' or 'tanh'\)$/,
    );
  });

  it.skipIf(simd === undefined)(`a Float64Array with a SIMD isa is a TypeError naming the argument${simd ? '' : ' (skipped: no SIMD isa runs here)'}`, () => {
    const d = (n: number) => new Float64Array(n);
    expect(() => native._gatesForward(simd!, rows, H, d(24), d(6), d(6), d(6), d(6))).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_LSTM_ARG_TYPE' }),
    );
    expect(() => native._gatesBackward(simd!, rows, H, d(24), d(6), d(24), d(6), d(6), d(6), d(6))).toThrow(
      new RegExp(`^_gatesBackward: da is a Float64Array, which only isa 'scalar' accepts \\(isa '${simd}' is float32 only\\)$`),
    );
  });
});

describe('gates: ISA selection', () => {
  it('supported ISAs are listed best first, end with scalar, and match backendInfo()', () => {
    expect(supported.at(-1)).toBe('scalar');
    const order = ['avx512', 'avx2', 'neon', 'scalar'];
    expect([...supported].sort((x, y) => order.indexOf(x) - order.indexOf(y))).toEqual(supported);
    expect(native.backendInfo().supportedIsas).toEqual(supported);
    if (!process.env.LSTM_NATIVE_ISA) expect(native.backendInfo().isa).toBe(supported[0]);
  });

  it('LSTM_NATIVE_ISA picks a supported ISA and ignores an unknown or unrunnable one', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const isaWith = (value: string) =>
      execFileSync(process.execPath, ['-e', "process.stdout.write(require('node-gyp-build')(process.argv[1]).backendInfo().isa)", root], {
        cwd: root,
        env: { ...process.env, LSTM_NATIVE_ISA: value },
        encoding: 'utf8',
      });
    expect(isaWith('scalar')).toBe('scalar');
    expect(isaWith('bogus')).toBe(supported[0]);
    expect(isaWith(SIMD_ISAS.find((isa) => !supported.includes(isa))!)).toBe(supported[0]);
  });
});
