/**
 * Loads the native addon (prebuilds first, then a local build, through node-gyp-build) and declares
 * the one typed interface of everything it exports. A load failure becomes one actionable error.
 * @internal
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Float arrays the kernel accepts: float32 for users, float64 for gradient checks. */
export type FloatArray = Float32Array | Float64Array;

/** Arguments of one layer-direction call (see native/kernel/lstm.h for the layout). */
export interface NativeLstmCall<A extends FloatArray = FloatArray> {
  T: number; B: number; I: number; H: number; P: number; reverse: boolean;
  wIh: A; wHh: A; bIh: A; bHh: A; wHr?: A | null;
  x: A;
  lengths?: Int32Array | null;
  /** Workspace of `lstmWorkspaceSize` elements, kept between forward and backward. */
  workspace: A;
  /** Test hook: 'reference' runs the straightforward kernel path instead of the fast one. */
  _path?: 'reference' | 'fast';
}

export interface NativeLstmForward<A extends FloatArray = FloatArray> extends NativeLstmCall<A> {
  h0?: A | null; c0?: A | null;
  /** Output rows of `ldy` elements; this direction writes Hout values at `yOffset` in each row. */
  y: A; yOffset: number; ldy: number;
  hn?: A | null; cn?: A | null;
  /**
   * false: inference only (nothing kept for backward; the workspace is then
   * `lstmWorkspaceSize(T, B, I, H, P, false)`, much smaller). Default true.
   */
  training?: boolean;
}

export interface NativeLstmBackward<A extends FloatArray = FloatArray> extends NativeLstmCall<A> {
  dy?: A | null; dyOffset: number; ldy: number;
  dhn?: A | null; dcn?: A | null;
  /** Accumulated (+=). */
  dx?: A | null; dh0?: A | null; dc0?: A | null;
  dWIh: A; dWHh: A; dBIh: A; dBHh: A; dWHr?: A | null;
}

export interface NativeBackendInfo {
  blas: 'openblas' | 'builtin';
  isa: 'avx512' | 'avx2' | 'neon' | 'scalar';
  threads: number;
  /** ISAs compiled in and runnable on this CPU, best first. */
  supportedIsas: string[];
  /** The fast LSTM step's kernels: the ISA's, or 'emu512' (16-lane kernels on AVX2, for tests). */
  stepKernels: 'avx512' | 'avx2' | 'scalar' | 'emu512';
  /** The GEMM each class of product runs on (native/kernel/gemm_choice.h). */
  gemm: Record<'lstmForward' | 'lstmBackward' | 'linearForward' | 'linearBackward', 'builtin' | 'openblas'>;
}

export interface NativeBinding {
  backendInfo(): NativeBackendInfo;
  setNumThreads(n: number): void;
  /** Elements of the workspace for these dims: for training (default) or inference only. */
  lstmWorkspaceSize(T: number, B: number, I: number, H: number, P: number, training?: boolean): number;
  lstmForward(call: NativeLstmForward): void;
  lstmForwardAsync(call: NativeLstmForward): Promise<void>;
  lstmBackward(call: NativeLstmBackward): void;
  lstmBackwardAsync(call: NativeLstmBackward): Promise<void>;

  /** y (N, out) = x (N, in) W^T (out, in) + b (out). */
  linearForward(call: { N: number; in: number; out: number; y: FloatArray; x: FloatArray; weight: FloatArray;
    bias?: FloatArray | null }): void;
  /** dW += dy^T x, db += colsum(dy), dx = dy W (dx, dBias optional). */
  linearBackward(call: { N: number; in: number; out: number; dx?: FloatArray | null; dWeight: FloatArray;
    dBias?: FloatArray | null; dy: FloatArray; x: FloatArray; weight: FloatArray }): void;

  // ---- test hooks (underscore: not public API) ----
  /** ISAs compiled in and runnable on this CPU, best first. */
  _supportedIsas(): string[];
  /** The load-time x86 ISA decision run on made-up CPUID flags and XCR0 (native/kernel/cpu_features.h). */
  _x86IsaSupport(features: { avx2: boolean; fma: boolean; avx512f: boolean; avx512dq: boolean; osxsave: boolean;
    xcr0: number }): { avx2: boolean; avx512: boolean };
  /** The GEMM rule before calibration (native/kernel/gemm_choice.h); forced: LSTM_NATIVE_GEMM's value or ''. */
  _gemmRule(haveOpenblas: boolean, builtinIsa: string, forced: string): 'builtin' | 'openblas' | 'calibrate';
  /** Runs one gates variant over `rows` rows of width H. Float64Array only with 'scalar'. */
  _gatesForward(isa: string, rows: number, H: number, a: FloatArray, cPrev: FloatArray,
                c: FloatArray, tc: FloatArray, h: FloatArray): void;
  _gatesBackward(isa: string, rows: number, H: number, da: FloatArray, dcPrev: FloatArray,
                 gates: FloatArray, cPrev: FloatArray, tc: FloatArray, dh: FloatArray,
                 dc: FloatArray): void;
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

/** The package root: the parent of dist/ (the bundle) or of lib/ (sources run by the tests). */
function packageRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

let cached: NativeBinding | undefined;

/** The addon, loaded once. Throws one error that says what to do when it cannot be loaded. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const root = packageRoot();
  const require = createRequire(import.meta.url);
  try {
    const load = require('node-gyp-build') as (dir: string) => unknown;
    cached = load(root) as NativeBinding;
    return cached;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const err = new Error(
      `lstm-native: could not load the native addon for ${process.platform}-${process.arch} ` +
        `(Node ${process.version}) from ${root}.\n` +
        `Reason: ${reason}\n` +
        'Possible solutions:\n' +
        '- Build it from source: `npm rebuild lstm-native` (needs cmake and a C++17 compiler; ' +
        'Debian: apt-get install cmake g++, and libopenblas-dev for the faster GEMM).\n' +
        '- If a prebuild failed to load because libopenblas.so.0 is missing, install OpenBLAS ' +
        '(Debian: apt-get install libopenblas0) or rebuild from source.\n' +
        '- With PREBUILDS_ONLY=1 set, unset it to allow a local build.',
      { cause },
    );
    (err as Error & { code: string }).code = 'ERR_LSTM_NATIVE_LOAD';
    throw err;
  }
}
