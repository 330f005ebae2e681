/**
 * The GEMM seam (native/kernel/gemm*.cc) through the `_gemm` test hook of
 * native/testing/binding_testing_gemm.cc (test addon):
 *   1. the built-in GEMM equals a plain JS float64 reference for all four transpose combinations,
 *      sizes that hit every edge tile (1, 3, 5, 7, 17, 33, 65, 100, 257), leading dimensions larger
 *      than the width (padding filled with NaN in A and B, a sentinel in C that must survive),
 *      alpha/beta variants (beta = 0 with a NaN-filled C must overwrite it), K = 0, alpha = 0,
 *      M or N = 0, products larger than the cache blocks, 1 and 2 threads, float32 and float64;
 *   2. every other ISA this CPU runs (LSTM_NATIVE_ISA=... in a child process, e.g. the scalar
 *      kernels on an AVX2 machine) passes the same reference checks;
 *   3. the built-in GEMM agrees with OpenBLAS on LSTM shapes, and 'default' is the backend that
 *      backendInfo() names (OpenBLAS cases are skipped, with the reason in the name, when the
 *      build does not link it);
 *   4. concurrent callers from worker_threads get correct results (the pool is busy for all but one);
 *   5. bad arguments are TypeError/RangeError (or Error for a missing OpenBLAS) naming the argument.
 *
 * Error measure: |C - ref| / (|alpha| * sum_k |a_ik b_kj| + |beta c_ij|), the scale rounding errors
 * are proportional to, against 1e-5 * sqrt(K) for float32 and 1e-13 * sqrt(K) for float64.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { type FloatArray } from '../../lib/binding.js';
import { testingNative } from '../helpers/testing-addon.js';
import { rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const native = testingNative();
const info = native.backendInfo();
const haveOpenblas = info.blas === 'openblas';
const initialThreads = info.threads;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

afterAll(() => native.setNumThreads({ threads: initialThreads }));

// ---- helpers ------------------------------------------------------------------------------------

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
type Which = 'builtin' | 'openblas' | 'default' | 'builtin-packed';
const SENTINEL = 777.25;

/** One GEMM problem: C = alpha op(A) op(B) + beta C, every matrix with its own leading dimension. */
interface Case {
  f64: boolean;
  ta: boolean; tb: boolean;
  M: number; N: number; K: number;
  alpha: number; beta: number;
  A: FloatArray; lda: number;
  B: FloatArray; ldb: number;
  C: FloatArray; ldc: number;
}

/**
 * Builds a case with values in [-1, 1). Padding columns (ld > width) hold NaN in A and B, which a
 * correct GEMM never reads, and SENTINEL in C, which it never writes. With beta = 0, C is NaN.
 */
function makeCase(seed: number, f64: boolean, ta: boolean, tb: boolean, M: number, N: number,
                  K: number, alpha: number, beta: number, pad: number): Case {
  const r = rng(seed);
  const T: Ctor = f64 ? Float64Array : Float32Array;
  const fill = (rows: number, cols: number, ld: number, value: () => number, padValue: number) => {
    const a = new T(rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < ld && i * ld + j < a.length; j++) a[i * ld + j] = j < cols ? value() : padValue;
    }
    return a;
  };
  const [ar, ac] = ta ? [K, M] : [M, K];
  const [br, bc] = tb ? [N, K] : [K, N];
  const lda = Math.max(1, ac + pad), ldb = Math.max(1, bc + pad), ldc = Math.max(1, N + pad);
  const val = () => r() * 2 - 1;
  return {
    f64, ta, tb, M, N, K, alpha, beta,
    A: fill(ar, ac, lda, val, NaN), lda,
    B: fill(br, bc, ldb, val, NaN), ldb,
    C: fill(M, N, ldc, beta === 0 ? () => NaN : val, SENTINEL), ldc,
  };
}

function runGemm(which: Which, c: Case, C: FloatArray = c.C): void {
  native._gemm(which, c.ta, c.tb, c.M, c.N, c.K, c.alpha, c.A, c.lda, c.B, c.ldb, c.beta, C, c.ldc);
}

/** Float64 reference and the per-element error scale |alpha| sum|a b| + |beta c|. */
function reference(c: Case): { ref: Float64Array; scale: Float64Array } {
  const { M, N, K, A, B, C, lda, ldb, ldc, alpha, beta } = c;
  const ref = new Float64Array(M * N), scale = new Float64Array(M * N);
  const a = (i: number, k: number) => (c.ta ? A[k * lda + i] : A[i * lda + k]) as number;
  const b = (k: number, j: number) => (c.tb ? B[j * ldb + k] : B[k * ldb + j]) as number;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0, sa = 0;
      // alpha = 0: BLAS reads neither A nor B (they may hold NaN).
      for (let k = 0; k < (alpha === 0 ? 0 : K); k++) {
        const p = a(i, k) * b(k, j);
        s += p;
        sa += Math.abs(p);
      }
      const c0 = C[i * ldc + j] as number;
      ref[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * c0);
      scale[i * N + j] = Math.abs(alpha) * sa + (beta === 0 ? 0 : Math.abs(beta * c0));
    }
  }
  return { ref, scale };
}

function tolerance(c: Case): number {
  return (c.f64 ? 1e-13 : 1e-5) * Math.sqrt(Math.max(c.K, 1));
}

/**
 * The worst scaled error of `out` against the reference, or Infinity when an element is NaN or a
 * padding sentinel of C changed. Returns a description of the first problem for the message.
 */
function worstError(c: Case, out: FloatArray, expected = reference(c)): { worst: number; where: string } {
  const { ref, scale } = expected;
  let worst = 0, where = '';
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.ldc && i * c.ldc + j < out.length; j++) {
      const v = out[i * c.ldc + j] as number;
      if (j >= c.N) {
        if (v !== SENTINEL) return { worst: Infinity, where: `padding C[${i}][${j}] written (${v})` };
        continue;
      }
      const e = Math.abs(v - (ref[i * c.N + j] as number)) / ((scale[i * c.N + j] as number) + 1e-300);
      if (!(e <= worst)) {
        worst = Number.isNaN(e) ? Infinity : e;
        where = `C[${i}][${j}] = ${v}, expected ${ref[i * c.N + j]}`;
      }
    }
  }
  return { worst, where };
}

function describeCase(c: Case): string {
  return `${c.f64 ? 'f64' : 'f32'} ta=${c.ta} tb=${c.tb} M=${c.M} N=${c.N} K=${c.K} ` +
    `alpha=${c.alpha} beta=${c.beta} lda=${c.lda} ldb=${c.ldb} ldc=${c.ldc}`;
}

/** Runs `which` on a copy of C and checks it against the reference. */
function expectMatchesReference(which: Which, c: Case): void {
  const out = c.C.slice();
  runGemm(which, c, out);
  const { worst, where } = worstError(c, out);
  expect(worst, `${which} ${describeCase(c)}: ${where}`).toBeLessThanOrEqual(tolerance(c));
}

const SIZES = [1, 3, 5, 7, 17, 33, 65, 100, 257];
const TRANSPOSES: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
const ALPHA_BETA: [number, number][] = [[1, 0], [-0.75, 1], [0.5, -2], [2, 0.5]];

/** The edge-tile grid: every M x N of SIZES, K rotating through SIZES, alpha/beta and padding too. */
function edgeTileCases(f64: boolean, ta: boolean, tb: boolean, seed: number): Case[] {
  const cases: Case[] = [];
  SIZES.forEach((M, mi) => {
    SIZES.forEach((N, ni) => {
      const K = SIZES[(mi * 4 + ni + (ta ? 1 : 0) + (tb ? 2 : 0)) % SIZES.length] as number;
      const [alpha, beta] = ALPHA_BETA[(mi + ni) % ALPHA_BETA.length] as [number, number];
      cases.push(makeCase(seed + mi * 31 + ni, f64, ta, tb, M, N, K, alpha, beta, (mi + 2 * ni) % 4));
    });
  });
  return cases;
}

/** Shapes past the cache blocks (kc, mc, nc) and the GEMV paths, with several threads in play. */
const BIG_SHAPES: [number, number, number][] = [
  [300, 70, 700], [2, 5000, 40], [150, 2100, 9], [40, 33, 1030], [1, 3000, 300], [3000, 1, 300],
  [64, 300, 17],
];

// ---- 1. built-in vs float64 reference ------------------------------------------------------------

describe('builtin GEMM vs a float64 reference', () => {
  for (const f64 of [false, true]) {
    const dtype = f64 ? 'float64' : 'float32';
    for (const [ta, tb] of TRANSPOSES) {
      it(`${dtype} transA=${ta} transB=${tb}: every edge tile, padded leading dims, alpha/beta`, () => {
        for (const c of edgeTileCases(f64, ta, tb, 1000 + (ta ? 100 : 0) + (tb ? 200 : 0))) {
          expectMatchesReference('builtin', c);
        }
      });
    }
    it(`${dtype}: products larger than the cache blocks and GEMV shapes, 1 and 2 threads`, () => {
      let seed = 5000;
      const cases: Case[] = [];
      for (const [ta, tb] of TRANSPOSES) {
        for (const [M, N, K] of BIG_SHAPES) {
          cases.push(makeCase(seed++, f64, ta, tb, M, N, K, 1, 0, 1));
          cases.push(makeCase(seed++, f64, ta, tb, M, N, K, -0.5, 1, 0));
        }
      }
      try {
        for (const c of cases) {
          const expected = reference(c);
          for (const threads of [1, 2]) {
            native.setNumThreads({ threads: threads });
            const out = c.C.slice();
            runGemm('builtin', c, out);
            const { worst, where } = worstError(c, out, expected);
            expect(worst, `threads=${threads} ${describeCase(c)}: ${where}`).toBeLessThanOrEqual(tolerance(c));
          }
        }
      } finally {
        native.setNumThreads({ threads: initialThreads });
      }
    });
  }

  it('K = 0 sets C = beta * C; beta = 0 overwrites NaN with zeros', () => {
    for (const which of ['builtin', 'default'] as const) {
      for (const f64 of [false, true]) {
        const zero = makeCase(1, f64, false, false, 4, 5, 0, 1, 0, 2);
        expectMatchesReference(which, zero);
        const out = zero.C.slice();
        runGemm(which, zero, out);
        for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) expect(out[i * zero.ldc + j]).toBe(0);
        expectMatchesReference(which, makeCase(2, f64, true, true, 4, 5, 0, 1, 2, 1));
      }
    }
  });

  it('alpha = 0 reads neither A nor B', () => {
    for (const which of ['builtin', 'default'] as const) {
      const c = makeCase(3, false, false, true, 6, 7, 8, 0, 0.5, 1);
      c.A.fill(NaN);
      c.B.fill(NaN);
      expectMatchesReference(which, c);
    }
  });

  it('M = 0 or N = 0 writes nothing', () => {
    for (const [M, N] of [[0, 5], [5, 0]] as const) {
      const C = new Float32Array(12).fill(SENTINEL);
      native._gemm('builtin', false, false, M, N, 3, 1, new Float32Array(15), 3, new Float32Array(15), 5,
        0, C, 5);
      expect(Array.from(C)).toEqual(new Array(12).fill(SENTINEL));
    }
  });

  it('the result does not depend on the thread count beyond rounding', () => {
    try {
      const c = makeCase(77, false, false, true, 64, 1024, 256, 1, 1, 0);
      const expected = reference(c);
      for (const threads of [1, 2, 3]) {
        native.setNumThreads({ threads: threads });
        const out = c.C.slice();
        runGemm('builtin', c, out);
        const { worst, where } = worstError(c, out, expected);
        expect(worst, `threads=${threads}: ${where}`).toBeLessThanOrEqual(tolerance(c));
      }
    } finally {
      native.setNumThreads({ threads: initialThreads });
    }
  });
});

// ---- 2. the other ISAs' kernels, in a child process ----------------------------------------------

/** Runs cases through `_gemm('builtin')` in a child with LSTM_NATIVE_ISA=isa; exact bits round-trip. */
function runInChild(isa: string, cases: Case[]): { isa: string; outputs: FloatArray[] } {
  const enc = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const input = JSON.stringify(cases.map((c) => ({
    f64: c.f64, ta: c.ta, tb: c.tb, M: c.M, N: c.N, K: c.K, alpha: c.alpha, beta: c.beta,
    A: enc(c.A), lda: c.lda, B: enc(c.B), ldb: c.ldb, C: enc(c.C), ldc: c.ldc,
  })));
  const script = `
    const { createRequire } = require('node:module');
    const req = createRequire(${JSON.stringify(ROOT + 'package.json')});
    const native = req('node-gyp-build')(${JSON.stringify(ROOT)});
    const dec = (s, T) => new T(new Uint8Array(Buffer.from(s, 'base64')).buffer);
    const enc = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const outputs = cases.map((c) => {
      const T = c.f64 ? Float64Array : Float32Array;
      const C = dec(c.C, T);
      native._gemm('builtin', c.ta, c.tb, c.M, c.N, c.K, c.alpha, dec(c.A, T), c.lda, dec(c.B, T),
        c.ldb, c.beta, C, c.ldc);
      return enc(C);
    });
    process.stdout.write(JSON.stringify({ isa: native.backendInfo().isa, outputs }));`;
  const stdout = execFileSync(process.execPath, ['-e', script], {
    input, encoding: 'utf8', maxBuffer: 1 << 28,
    env: { ...process.env, LSTM_NATIVE_ISA: isa },
  });
  const res = JSON.parse(stdout) as { isa: string; outputs: string[] };
  return {
    isa: res.isa,
    outputs: res.outputs.map((s, i) => {
      const bytes = new Uint8Array(Buffer.from(s, 'base64')).buffer;
      return cases[i]?.f64 ? new Float64Array(bytes) : new Float32Array(bytes);
    }),
  };
}

describe('builtin GEMM with the kernels of every other ISA this CPU runs', () => {
  const others = info.supportedIsas.filter((isa) => isa !== info.isa);
  if (others.length === 0) {
    it.skip(`(skipped: ${info.isa} is the only ISA this CPU/build runs)`, () => {});
  }
  for (const isa of others) {
    it(`LSTM_NATIVE_ISA=${isa}: float32 and float64, all transposes, edge tiles`, () => {
      const cases: Case[] = [];
      let seed = 9000;
      for (const f64 of [false, true]) {
        for (const [ta, tb] of TRANSPOSES) {
          for (const M of [1, 5, 7, 17, 33]) {
            for (const N of [1, 3, 17, 33, 65]) {
              const [alpha, beta] = ALPHA_BETA[seed % ALPHA_BETA.length] as [number, number];
              cases.push(makeCase(seed++, f64, ta, tb, M, N, [3, 100, 257][seed % 3] as number, alpha,
                beta, seed % 3));
            }
          }
          cases.push(makeCase(seed++, f64, ta, tb, 130, 150, 400, 1, 1, 1));  // threads + blocks
        }
      }
      const { isa: ran, outputs } = runInChild(isa, cases);
      expect(ran).toBe(isa);
      cases.forEach((c, i) => {
        const { worst, where } = worstError(c, outputs[i] as FloatArray);
        expect(worst, `${isa} ${describeCase(c)}: ${where}`).toBeLessThanOrEqual(tolerance(c));
      });
    });
  }
});

// ---- 3. OpenBLAS and the default backend --------------------------------------------------------

/** LSTM shapes: forward x W^T (transB), backward dh = dG W (no transposes), dW = dG^T X (transA). */
const LSTM_SHAPES: [boolean, boolean, number, number, number][] = [
  [false, true, 32, 1024, 256], [false, true, 32, 1024, 320], [false, true, 64, 2048, 512],
  [false, true, 3200, 1024, 64], [false, true, 1, 2048, 1024], [false, true, 1, 512, 160],
  [false, false, 32, 256, 1024], [false, false, 1, 512, 2048], [true, false, 1024, 256, 640],
];

/** Compares two results elementwise with the bound K * max|a| * max|b| (all values in [-1, 1)). */
function expectClose(c: Case, got: FloatArray, want: FloatArray, label: string): void {
  const bound = tolerance(c) * (Math.abs(c.alpha) * c.K + Math.abs(c.beta));
  let worst = 0, at = -1;
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.N; j++) {
      const d = Math.abs((got[i * c.ldc + j] as number) - (want[i * c.ldc + j] as number));
      if (!(d <= worst)) { worst = Number.isNaN(d) ? Infinity : d; at = i * c.ldc + j; }
    }
  }
  expect(worst, `${label} ${describeCase(c)} at ${at}`).toBeLessThanOrEqual(bound);
}

describe('builtin GEMM with op(B) packed once (the LSTM\'s chunked input product)', () => {
  it('gives the bits of the builtin GEMM that packs B itself, for every transpose, edge and thread count', () => {
    // N not a multiple of any NR, K over one kc block (256+), M of one row (matrix-vector path, B read
    // directly), beta 0 and 1, padded leading dimensions; 1, 2 and 3 threads (few rows and many
    // columns, 6 x 650: the threads split the columns, so a thread starts inside the packed panels).
    const shapes: [number, number, number][] = [[2, 5, 3], [37, 1000, 300], [512, 2048, 64], [13, 129, 515], [6, 650, 260], [1, 77, 40], [64, 48, 1]];
    let seed = 900;
    try {
      for (const threads of [1, 2, 3]) {
        native.setNumThreads({ threads: threads });
        for (const [M, N, K] of shapes) {
          for (const [ta, tb] of [[false, true], [false, false], [true, true]] as const) {
            for (const beta of [0, 1]) {
              const c = makeCase(seed++, false, ta, tb, M, N, K, 1, beta, (M + N) % 3);
              const expected = c.C.slice();
              runGemm('builtin', c, expected);
              const got = c.C.slice();
              runGemm('builtin-packed', c, got);
              const same = Buffer.from(got.buffer, got.byteOffset, got.byteLength)
                .equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength));
              expect(same, `M ${M} N ${N} K ${K} ta ${ta} tb ${tb} beta ${beta}, ${threads} threads: same bits`).toBe(true);
            }
          }
        }
      }
    } finally {
      native.setNumThreads({ threads: initialThreads });
    }
  });
  it('is float32 only', () => {
    const c = makeCase(5, true, false, true, 3, 4, 5, 1, 0, 0);
    expectError(() => runGemm('builtin-packed', c), TypeError as never,
      /^_gemm: A must be a Float32Array for which 'builtin-packed' \(a float32 path\), got a Float64Array$/, 'ERR_LSTM_ARG_TYPE');
  });
});

describe('builtin GEMM with op(B) packed from picked rows, computed in column ranges', () => {
  // The LSTM's chunked input product inside its step job: W_ih's rows reordered so each block of 8
  // units' 4 gates sit side by side (some columns zero: the padding of a partial block), each thread
  // computing its own range of columns (M >= 2: the plain GEMM takes its matrix-vector path for
  // one row). Must give the bits of the plain built-in GEMM on the
  // reordered matrix, in any number of ranges, with and without memory for the A blocks.
  it('gives the bits of the plain built-in GEMM on the picked rows', () => {
    const r = rng(4242);
    const shapes: [number, number, number, number][] = [[64, 96, 40, 90], [131, 160, 515, 150], [7, 48, 300, 10], [2, 32, 5, 40]];
    for (const [M, N, K, R] of shapes) {
      const A = Float32Array.from({ length: M * K }, () => r() * 2 - 1);
      const B = Float32Array.from({ length: R * K }, () => r() * 2 - 1);
      const rows = Int32Array.from({ length: N }, (_, j) => (j % 11 === 10 ? -1 : Math.floor(r() * R)));
      const picked = new Float32Array(N * K);
      for (let j = 0; j < N; j++) if (rows[j]! >= 0) picked.set(B.subarray(rows[j]! * K, rows[j]! * K + K), j * K);
      for (const beta of [0, 1]) {
        const C0 = Float32Array.from({ length: M * N }, () => (beta === 0 ? NaN : r() * 2 - 1));
        const want = C0.slice();
        native._gemm('builtin', false, true, M, N, K, 1, A, K, picked, K, beta, want, N);
        for (const parts of [1, 2, 3]) {
          for (const noScratch of [false, true]) {
            const got = C0.slice();
            native._gemmPackedCols(M, N, K, A, B, rows, parts, beta, got, noScratch);
            const same = Buffer.from(got.buffer).equals(Buffer.from(want.buffer));
            expect(same, `M ${M} N ${N} K ${K} beta ${beta}, ${parts} ranges${noScratch ? ', no scratch' : ''}`).toBe(true);
          }
        }
      }
    }
  });
  it('checks the picked rows', () => {
    const A = new Float32Array(4), B = new Float32Array(4), C = new Float32Array(4);
    expectError(() => native._gemmPackedCols(2, 2, 2, A, B, Int32Array.of(0, 2), 1, 0, C, false), RangeError as never,
      /^_gemmPackedCols: rows\[1\] must be -1 or a row of B \(0\.\.1\), got 2$/, 'ERR_LSTM_ARG_RANGE');
  });
});

describe('builtin vs OpenBLAS and the default backend', () => {
  const skipReason = haveOpenblas ? '' : ' (skipped: this build does not link OpenBLAS)';

  it.skipIf(!haveOpenblas)(`builtin agrees with OpenBLAS on LSTM shapes${skipReason}`, () => {
    let seed = 300;
    for (const [ta, tb, M, N, K] of LSTM_SHAPES) {
      for (const [alpha, beta] of [[1, 1], [1, 0]] as const) {
        const c = makeCase(seed++, false, ta, tb, M, N, K, alpha, beta, 0);
        const mine = c.C.slice(), blas = c.C.slice();
        runGemm('builtin', c, mine);
        runGemm('openblas', c, blas);
        expectClose(c, mine, blas, 'builtin vs openblas');
      }
    }
  });

  it.skipIf(!haveOpenblas)(`OpenBLAS (with its GEMV fast paths) matches the reference${skipReason}`, () => {
    let seed = 400;
    for (const [ta, tb] of TRANSPOSES) {
      for (const [M, N, K] of [[1, 100, 33], [100, 1, 33], [1, 1, 9], [17, 33, 65], [4, 5, 0]] as const) {
        for (const f64 of [false, true]) {
          expectMatchesReference('openblas', makeCase(seed++, f64, ta, tb, M, N, K, 1.5, 0, 2));
          expectMatchesReference('openblas', makeCase(seed++, f64, ta, tb, M, N, K, -1, 0.5, 1));
        }
      }
    }
  });

  it(`'default' is the ${info.blas} backend that backendInfo() names`, () => {
    let seed = 500;
    for (const [ta, tb, M, N, K] of LSTM_SHAPES.slice(0, 3)) {
      const c = makeCase(seed++, false, ta, tb, M, N, K, 1, 1, 1);
      const viaDefault = c.C.slice(), viaBackend = c.C.slice();
      runGemm('default', c, viaDefault);
      runGemm(info.blas, c, viaBackend);
      expect(Array.from(viaDefault)).toEqual(Array.from(viaBackend));
    }
  });

  it.skipIf(haveOpenblas)(
    `'openblas' is an Error naming it when OpenBLAS is not linked${haveOpenblas ? ' (skipped: OpenBLAS is linked)' : ''}`,
    () => {
      const c = makeCase(1, false, false, false, 2, 2, 2, 1, 0, 0);
      let err: unknown;
      try { runGemm('openblas', c); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^_gemm: which 'openblas' is not available: this build does not link OpenBLAS/);
      expect((err as Error & { code: string }).code).toBe('ERR_LSTM_NO_OPENBLAS');
    },
  );
});

// ---- 4. concurrent callers -----------------------------------------------------------------------

describe('concurrency', () => {
  it('worker_threads calling _gemm at the same time all get correct results', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { createRequire } = require('node:module');
      const native = createRequire(workerData.root + 'package.json')('node-gyp-build')(workerData.root);
      const { M, N, K, A, B, expected } = workerData;
      let worst = 0;
      for (let rep = 0; rep < 30; rep++) {
        const C = new Float32Array(M * N);
        native._gemm('builtin', false, true, M, N, K, 1, A, K, B, K, 0, C, N);
        for (let i = 0; i < C.length; i++) worst = Math.max(worst, Math.abs(C[i] - expected[i]));
      }
      parentPort.postMessage(worst);`;
    const c = makeCase(42, false, false, true, 48, 300, 200, 1, 0, 0);
    const { ref } = reference(c);
    const runs = Array.from({ length: 3 }, () => new Promise<number>((resolve, reject) => {
      const w = new Worker(code, {
        eval: true,
        workerData: { root: ROOT, M: c.M, N: c.N, K: c.K, A: c.A, B: c.B, expected: ref },
      });
      w.once('message', resolve);
      w.once('error', reject);
    }));
    // The main thread keeps the pool busy at the same time.
    for (let rep = 0; rep < 30; rep++) expectMatchesReference('builtin', c);
    const worst = await Promise.all(runs);
    for (const e of worst) expect(e).toBeLessThanOrEqual(tolerance(c) * c.K);
  });
});

// ---- 5. argument errors --------------------------------------------------------------------------

describe('_gemm argument checks', () => {
  const f32 = (n: number) => new Float32Array(n);
  type Args = Parameters<typeof native._gemm>;
  // A valid call: op(A) (3, 4), op(B) (4, 5), C (3, 5), no transposes, tight leading dims.
  const valid = (): Args => ['builtin', false, false, 3, 5, 4, 1, f32(12), 4, f32(20), 5, 0, f32(15), 5];
  const call = (patch: (a: Args) => void) => () => {
    const a = valid();
    patch(a);
    native._gemm(...a);
  };
  const expectError = (fn: () => void, type: ErrorConstructor, msg: RegExp, code: string) => {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error & { code: string }).code).toBe(code);
  };

  it('accepts the valid call', () => {
    expect(call(() => {})).not.toThrow();
  });

  it('rejects an unknown `which`', () => {
    expectError(call((a) => { a[0] = 'mkl' as Which; }), RangeError,
      /^_gemm: which must be 'builtin', 'openblas', 'default' or 'builtin-packed', got 'mkl'$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { (a as unknown[])[0] = 1; }), TypeError,
      /^_gemm: which must be a string, got the number 1$/, 'ERR_LSTM_ARG_TYPE');
  });

  it('rejects bad dimensions and flags', () => {
    expectError(call((a) => { a[3] = -1; }), RangeError,
      /^_gemm: M must be an integer in \[0, 2147483647\], got the number -1$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { a[5] = 1.5; }), RangeError, /^_gemm: K must be an integer/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { (a as unknown[])[1] = 0; }), TypeError,
      /^_gemm: transA must be a boolean, got the number 0$/, 'ERR_LSTM_ARG_TYPE');
  });

  it('rejects short arrays, naming the size formula', () => {
    expectError(call((a) => { a[7] = f32(11); }), RangeError,
      /^_gemm: A must have at least 12 elements \(\(M-1\)\*lda \+ K = \(3-1\)\*4 \+ 4\), got 11$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { a[9] = f32(19); }), RangeError,
      /^_gemm: B must have at least 20 elements \(\(K-1\)\*ldb \+ N = \(4-1\)\*5 \+ 5\), got 19$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { a[12] = f32(14); }), RangeError,
      /^_gemm: C must have at least 15 elements \(\(M-1\)\*ldc \+ N = \(3-1\)\*5 \+ 5\), got 14$/, 'ERR_LSTM_ARG_RANGE');
    // Transposed A is stored (K, M) = (4, 3): lda >= 3, (4-1)*lda + 3 elements.
    expectError(call((a) => { a[1] = true; a[8] = 3; a[7] = f32(11); }), RangeError,
      /^_gemm: A must have at least 12 elements \(\(K-1\)\*lda \+ M = \(4-1\)\*3 \+ 3\), got 11$/, 'ERR_LSTM_ARG_RANGE');
    // Padded leading dimension: (3-1)*6 + 4 = 16.
    expectError(call((a) => { a[8] = 6; a[7] = f32(15); }), RangeError,
      /^_gemm: A must have at least 16 elements/, 'ERR_LSTM_ARG_RANGE');
  });

  it('rejects leading dimensions smaller than the stored width', () => {
    expectError(call((a) => { a[8] = 3; }), RangeError,
      /^_gemm: lda must be >= 4 \(the K columns of A as stored\), got 3$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { a[2] = true; a[10] = 3; }), RangeError,
      /^_gemm: ldb must be >= 4 \(the K columns of B as stored\), got 3$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { a[13] = 4; }), RangeError,
      /^_gemm: ldc must be >= 5 \(the N columns of C as stored\), got 4$/, 'ERR_LSTM_ARG_RANGE');
    expectError(call((a) => { a[8] = 0; }), RangeError, /^_gemm: lda must be an integer in \[1, /, 'ERR_LSTM_ARG_RANGE');
  });

  it('rejects mixed dtypes and non-float arrays', () => {
    expectError(call((a) => { a[9] = new Float64Array(20); }), TypeError,
      /^_gemm: B must be a Float32Array, got a Float64Array of 20 elements$/, 'ERR_LSTM_ARG_TYPE');
    expectError(call((a) => { a[7] = new Float64Array(12); }), TypeError,
      /^_gemm: B must be a Float64Array, got a Float32Array of 20 elements$/, 'ERR_LSTM_ARG_TYPE');
    expectError(call((a) => { (a as unknown[])[12] = new Int32Array(15); }), TypeError,
      /^_gemm: C must be a Float32Array, got an? Int32Array of 15 elements$/, 'ERR_LSTM_ARG_TYPE');
    expectError(call((a) => { (a as unknown[])[7] = [1, 2, 3]; }), TypeError,
      /^_gemm: A must be a Float32Array or Float64Array, got an Array$/, 'ERR_LSTM_ARG_TYPE');
  });

  it('rejects a non-number alpha or beta', () => {
    expectError(call((a) => { (a as unknown[])[6] = '1'; }), TypeError,
      /^_gemm: alpha must be a number, got a string$/, 'ERR_LSTM_ARG_TYPE');
    expectError(call((a) => { (a as unknown[])[11] = null; }), TypeError,
      /^_gemm: beta must be a number, got null$/, 'ERR_LSTM_ARG_TYPE');
  });
});
