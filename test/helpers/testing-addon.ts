/**
 * The test addon: the shipped addon's surface plus the test hooks (native/testing/, the `_path`
 * and `isa` fields, the schedulers' test delays), built by `node scripts/build-native.mjs
 * --test-hooks` into <build>/test-hooks/build/Release/lstm_native.node (test/helpers/global-setup.ts
 * does it before the tests). vitest.config.ts points LSTM_NATIVE_PREBUILD at <build>/test-hooks, so
 * lib/binding.ts loads this very addon in the tests: the hooks act on the kernel, pool and
 * schedulers the library runs on.
 */
import { join } from 'node:path';
import {
  loadNative, type FloatArray, type NativeBinding, type NativeLstmBackward, type NativeLstmForward,
  type NativeSoftmaxCrossEntropy,
} from '../../lib/binding.js';

/** The test hooks' call fields on the production calls. */
export interface TestingPath {
  /** 'reference' runs the reference kernels instead of the fast ones. */
  _path?: 'reference' | 'fast';
}

export interface TestingBinding extends Omit<NativeBinding, 'lstmForward' | 'lstmForwardAsync' | 'lstmBackward' |
  'lstmBackwardAsync' | 'softmaxCrossEntropy'> {
  lstmForward(call: NativeLstmForward & TestingPath): void;
  lstmForwardAsync(call: NativeLstmForward & TestingPath): Promise<void>;
  lstmBackward(call: NativeLstmBackward & TestingPath): void;
  lstmBackwardAsync(call: NativeLstmBackward & TestingPath): Promise<void>;
  /** isa: run one build of the loops ('scalar' = baseline ISA, 'avx2'), default the active ISA. */
  softmaxCrossEntropy(call: NativeSoftmaxCrossEntropy & { isa?: string }): number;

  /** ISAs compiled in and runnable on this CPU, best first. */
  _supportedIsas(): string[];
  /** Runs one gates variant over `rows` rows of width H. Float64Array only with 'scalar'. */
  _gatesForward(isa: string, rows: number, H: number, a: FloatArray, cPrev: FloatArray,
    c: FloatArray, tc: FloatArray, h: FloatArray): void;
  _gatesBackward(isa: string, rows: number, H: number, da: FloatArray, dcPrev: FloatArray,
    gates: FloatArray, cPrev: FloatArray, tc: FloatArray, dh: FloatArray, dc: FloatArray): void;
  /** out[i] = f(x[i]) with one ISA's vector code, f in 'exp' | 'sigmoid' | 'tanh'. */
  _activation(isa: string, kind: string, x: Float32Array, out: Float32Array): void;
  /** C = alpha op(A) op(B) + beta C, row-major, with one GEMM implementation. */
  _gemm(which: 'builtin' | 'openblas' | 'default' | 'builtin-packed', transA: boolean, transB: boolean,
    M: number, N: number, K: number, alpha: number, A: FloatArray, lda: number,
    B: FloatArray, ldb: number, beta: number, C: FloatArray, ldc: number): void;
  /**
   * C (M, N) = A (M, K) op(B) + beta C, op(B) packed from the rows of B (stored (R, K)) picked by
   * rows (-1: a zero column), computed in `parts` column ranges on the calling thread (the LSTM's
   * chunked input product inside its step job). noScratch: as if the A blocks' memory could not be
   * allocated.
   */
  _gemmPackedCols(M: number, N: number, K: number, A: Float32Array, B: Float32Array, rows: Int32Array,
    parts: number, beta: number, C: Float32Array, noScratch: boolean): void;
  /**
   * Runs the step loop's row scheduler with a checking function; the thread running row 0 sleeps
   * delayUs after each step. calls = rows * steps and outOfOrder = 0 when every row ran every
   * step once, in order.
   */
  _rowSteps(rows: number, slices: number, steps: number, minRows: number, delayUs: number): {
    calls: number; outOfOrder: number; smallestRange: number; threads: number; handovers: number };
  /** The same delay for the LSTM forward's row split (0: off). */
  _setRowStepsDelay(us: number): void;
  /** Times rows moved between threads in the row split since the process started. */
  _rowStepsHandovers(): number;
  /**
   * Runs the step loop's unit-block scheduler with a checking function; the thread running the
   * range with block 0 sleeps delayUs after each step. calls = blocks * steps, outOfOrder = 0 and
   * early = 0 when every block ran every step once, in order, each step after the whole step
   * before; firstMin / firstMax: the smallest and largest end of the range starting at block 0;
   * uneven: steps whose cuts were not the even ones.
   */
  _blockSteps(blocks: number, slices: number, steps: number, delayUs: number): {
    calls: number; outOfOrder: number; early: number; threads: number; firstMin: number;
    firstMax: number; uneven: number };
  /** The same delay for the LSTM forward's and backward's unit split (0: off). */
  _setBlockStepsDelay(us: number): void;
  /** Steps of the unit split that ran with uneven cuts since the process started. */
  _blockStepsUneven(): number;
  /**
   * Times the pool's workers went to sleep between jobs, and callers while waiting for a job's
   * chunks, since the process started.
   */
  _poolSleeps(): { workers: number; callers: number };
  /** How long pool threads spin before they sleep, in microseconds (LSTM_NATIVE_SPIN_US at start). */
  _setPoolSpinUs(us: number): void;
}

/** Where the build script puts the test addon's package-like folder (LSTM_NATIVE_PREBUILD). */
export function testAddonDir(root: string): string {
  return join(process.env.LSTM_NATIVE_BUILD_DIR || join(root, 'build'), 'test-hooks');
}

/** The addon the library runs on, which in the tests is the test addon (checked). */
export function testingNative(): TestingBinding {
  const native = loadNative() as unknown as Partial<TestingBinding>;
  if (typeof native._gemm !== 'function') {
    throw new Error('the tests need the test addon (with the test hooks): build it with ' +
      '`node scripts/build-native.mjs --test-hooks` and run the tests through vitest.config.ts, ' +
      'which points LSTM_NATIVE_PREBUILD at it');
  }
  return native as TestingBinding;
}
