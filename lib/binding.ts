/**
 * Loads the native addon (prebuilds first, then a local build, through node-gyp-build) and declares
 * the one typed interface of everything it exports. Every entry point takes one call object.
 * Failures inside the addon reach the caller as {@link LstmError} (code `ERR_LSTM_NATIVE`) with the
 * caller's stack, from sync and async calls alike; argument errors stay TypeError / RangeError with
 * their code. A load failure becomes one actionable error.
 * @internal
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LstmError, type LstmErrorCode } from './errors.js';

/** Float arrays the kernel accepts: float32 for users, float64 for gradient checks. */
export type FloatArray = Float32Array | Float64Array;

/** The dims of one LSTM layer-direction. */
export interface NativeLstmDims {
  T: number; B: number; I: number; H: number; P: number;
}

/** Arguments of one layer-direction call (see native/kernel/lstm.h for the layout). */
export interface NativeLstmCall<A extends FloatArray = FloatArray> extends NativeLstmDims {
  reverse: boolean;
  wIh: A; wHh: A; bIh: A; bHh: A; wHr?: A | null;
  x: A;
  lengths?: Int32Array | null;
  /** Workspace of {@link lstmWorkspaceSize} elements, kept between forward and backward. */
  workspace: A;
}

/**
 * A forward call. The async variant copies the arrays it only reads (x, h0, c0, lengths) before
 * it returns, but not the weights: they, and the arrays it writes (y, hn, cn, workspace), must stay
 * unchanged and attached until the promise settles (native/binding_lstm.cc).
 */
export interface NativeLstmForward<A extends FloatArray = FloatArray> extends NativeLstmCall<A> {
  h0?: A | null; c0?: A | null;
  /** Output rows of `ldy` elements; this direction writes Hout values at `yOffset` in each row. */
  y: A; yOffset: number; ldy: number;
  hn?: A | null; cn?: A | null;
  /**
   * false: inference only (nothing kept for backward; the workspace is then
   * `lstmWorkspaceSize({ ..., training: false })`, much smaller). Default true.
   */
  training?: boolean;
  /** x is the library's own, unchanged and attached until an async call settles: not copied. Default false. */
  xOwned?: boolean;
}

/**
 * A backward call. The async variant copies the arrays it only reads (x, dy, dhn, dcn, lengths)
 * before it returns, but not the weights; those and the arrays it writes must stay unchanged and
 * attached until it settles.
 */
export interface NativeLstmBackward<A extends FloatArray = FloatArray> extends NativeLstmCall<A> {
  dy?: A | null; dyOffset: number; ldy: number;
  dhn?: A | null; dcn?: A | null;
  /** Accumulated (+=). */
  dx?: A | null; dh0?: A | null; dc0?: A | null;
  dWIh: A; dWHh: A; dBIh: A; dBHh: A; dWHr?: A | null;
  /** x / dy is the library's own, unchanged and attached until an async call settles: not copied. Default false. */
  xOwned?: boolean; dyOwned?: boolean;
}

/** Arguments of `lstmWorkspaceSize`. */
export interface NativeWorkspaceDims extends NativeLstmDims {
  /** false: the inference-only workspace. Default true. */
  training?: boolean;
}

/** y (N, out) = x (N, in) W^T (out, in) + b (out). */
export interface NativeLinearForward {
  N: number; in: number; out: number; y: FloatArray; x: FloatArray; weight: FloatArray;
  bias?: FloatArray | null;
}

/** dW += dy^T x, db += colsum(dy), dx = dy W (dx, dBias optional). */
export interface NativeLinearBackward {
  N: number; in: number; out: number; dx?: FloatArray | null; dWeight: FloatArray;
  dBias?: FloatArray | null; dy: FloatArray; x: FloatArray; weight: FloatArray;
}

/** Arguments of the fused softmax cross-entropy (native/binding_loss.cc). */
export interface NativeSoftmaxCrossEntropy {
  /** Rows (every leading dim flattened) and classes. */
  N: number; C: number;
  /** (N, C). */
  logits: Float32Array;
  /** (N): each in [0, C) or equal to ignoreIndex. */
  targets: Int32Array;
  /** (C) class weights, or null for all ones. */
  weight?: Float32Array | null;
  ignoreIndex: number;
  labelSmoothing: number;
  reduction: 'mean' | 'sum' | 'none';
  /** (N, C) out: d loss / d logits (of the sum for 'none'); may be `logits` itself. */
  grad: Float32Array;
  /** (N) out: the unreduced per-row losses, or null. */
  rowLoss?: Float32Array | null;
}

/**
 * The optimizer kernels (native/binding_optim.cc): `param` fixes n, every other array is a
 * Float32Array of n elements, a null optional buffer switches its feature off, numbers are finite.
 */
export interface NativeSgdStep {
  param: Float32Array; grad: Float32Array;
  /** Required when momentum != 0 (set to the gradient when firstStep). */
  momentumBuffer?: Float32Array | null;
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; firstStep: boolean;
}
/** torch.optim.Adam/AdamW; maxExpAvgSq given means amsgrad; step counts from 1. */
export interface NativeAdamStep {
  param: Float32Array; grad: Float32Array; expAvg: Float32Array; expAvgSq: Float32Array;
  maxExpAvgSq?: Float32Array | null;
  step: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  decoupledWeightDecay: boolean;
}
/** torch.optim.RMSprop; gradAvg given means centered; momentumBuffer is required when momentum > 0. */
export interface NativeRmspropStep {
  param: Float32Array; grad: Float32Array; squareAvg: Float32Array; gradAvg?: Float32Array | null;
  momentumBuffer?: Float32Array | null;
  lr: number; alpha: number; eps: number; weightDecay: number; momentum: number;
}
/** torch.optim.Adagrad; step counts from 1. */
export interface NativeAdagradStep {
  param: Float32Array; grad: Float32Array; stateSum: Float32Array;
  step: number; lr: number; lrDecay: number; weightDecay: number; eps: number;
}

/** The kernel's configuration, read once at load from the environment (native/kernel/kernel_config.h). */
export interface NativeKernelConfig {
  /** LSTM_NATIVE_ISA: the ISA asked for ('' when unset; it may only lower the CPU's best). */
  isa: string;
  /** LSTM_NATIVE_NUM_THREADS (0: unset, the number of cores). */
  numThreads: number;
  /** LSTM_NATIVE_SPIN_US: how long pool threads spin before they sleep. */
  spinUs: number;
  /** LSTM_NATIVE_LSTM_PATH: 'fast' (default) or 'reference'. */
  lstmPath: 'fast' | 'reference';
  /** LSTM_NATIVE_LSTM_GEMM: 'builtin' (default: the per-class choice) or 'blas', for the LSTM's products. */
  lstmGemm: 'builtin' | 'blas';
  /** LSTM_NATIVE_GEMM: 'builtin' or 'openblas' for every product ('' when unset: chosen per class). */
  gemm: string;
  /** LSTM_NATIVE_LSTM_SPLIT: 'auto' (default), 'rows' or 'units'. */
  lstmSplit: 'auto' | 'rows' | 'units';
  /** LSTM_NATIVE_LSTM_FUSE_INPUT: -1 auto (default), 0 never, 1 always. */
  lstmFuseInput: number;
  /** LSTM_NATIVE_LSTM_HOIST_STEPS: steps per hoisted input chunk, 0 auto (default). */
  lstmHoistSteps: number;
  /** LSTM_NATIVE_LSTM_MIN_SPLIT_FLOPS: work per step below which a step runs on one thread. */
  lstmMinSplitFlops: number;
}

/** The kernel variants chosen once at load (native/kernel/isa_table.h). */
export interface NativeKernelTable {
  isa: 'avx512' | 'avx2' | 'neon' | 'scalar';
  gates: string; gemm: string; step: string; softmax: string;
}

/** The GEMM each class of product runs on (native/kernel/gemm_choice.h). */
export interface NativeGemmChoice {
  lstmForward: 'builtin' | 'openblas';
  lstmBackward: 'builtin' | 'openblas';
  linearForward: 'builtin' | 'openblas';
  linearBackward: 'builtin' | 'openblas';
}

export interface NativeBackendInfo {
  blas: 'openblas' | 'builtin';
  isa: 'avx512' | 'avx2' | 'neon' | 'scalar';
  threads: number;
  /** ISAs compiled in and runnable on this CPU, best first. */
  supportedIsas: string[];
  config: NativeKernelConfig;
  kernels: NativeKernelTable;
  gemm: NativeGemmChoice;
}

/** Everything the shipped addon exports: exactly what lib/ uses. */
export interface NativeBinding {
  backendInfo(): NativeBackendInfo;
  setNumThreads(call: { threads: number }): void;
  /** Elements of the workspace for these dims: for training (default) or inference only. */
  lstmWorkspaceSize(call: NativeWorkspaceDims): number;
  lstmForward(call: NativeLstmForward): void;
  lstmForwardAsync(call: NativeLstmForward): Promise<void>;
  lstmBackward(call: NativeLstmBackward): void;
  lstmBackwardAsync(call: NativeLstmBackward): Promise<void>;
  linearForward(call: NativeLinearForward): void;
  linearBackward(call: NativeLinearBackward): void;
  /** The fused softmax cross-entropy over rows: writes grad (and rowLoss), returns the reduced loss. */
  softmaxCrossEntropy(call: NativeSoftmaxCrossEntropy): number;
  sgdStep(call: NativeSgdStep): void;
  adamStep(call: NativeAdamStep): void;
  rmspropStep(call: NativeRmspropStep): void;
  adagradStep(call: NativeAdagradStep): void;
  /** Sum of x[i]^2, accumulated in float64 in a fixed order. */
  sumSquares(call: { x: Float32Array }): number;
  /** max |x[i]|; NaN when any element is NaN. */
  maxAbs(call: { x: Float32Array }): number;
  /** x[i] *= s (s rounded to float32). */
  scaleInPlace(call: { x: Float32Array; s: number }): void;
  /** x[i] = min(max(x[i], lo), hi); NaN stays NaN. */
  clampInPlace(call: { x: Float32Array; lo: number; hi: number }): void;
}

/** The package root: the parent of dist/ (the bundle) or of lib/ (sources run by the tests). */
function packageRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

/**
 * A native failure as the library reports it. Argument errors (TypeError / RangeError, with their
 * code) and LstmErrors pass through; any other error becomes an LstmError with the native code
 * (`ERR_LSTM_NATIVE` when it has none) and the native error as its cause. `caller`: an Error made
 * before an async call, whose stack (the caller's) replaces the one the rejection has (none of the
 * caller's frames).
 */
function nativeFailure(err: unknown, caller: Error | null): unknown {
  if (!(err instanceof Error) || err instanceof LstmError) return err;
  let out: Error = err;
  if (!(err instanceof TypeError || err instanceof RangeError)) {
    const code = (err as { code?: unknown }).code;
    out = new LstmError(err.message, (typeof code === 'string' ? code : 'ERR_LSTM_NATIVE') as LstmErrorCode,
      { cause: err });
  }
  if (caller?.stack) {
    const frames = caller.stack.slice(caller.stack.indexOf('\n') + 1);
    out.stack = `${out.name}: ${out.message}\n${frames}`;
  }
  return out;
}

/** The addon's functions wrapped so that failures follow {@link nativeFailure}. @internal (tests) */
export function wrapBinding(raw: Record<string, unknown>): NativeBinding {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function') {
      out[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    out[name] = name.endsWith('Async')
      ? (...args: unknown[]) => {
        const caller = new Error();  // the caller's stack, taken before the call (as sharp does)
        let promise: Promise<unknown>;
        try {
          promise = fn(...args) as Promise<unknown>;
        } catch (err) {
          return Promise.reject(nativeFailure(err, null));
        }
        return promise.catch((err: unknown) => { throw nativeFailure(err, caller); });
      }
      : (...args: unknown[]) => {
        try {
          return fn(...args);
        } catch (err) {
          throw nativeFailure(err, null);
        }
      };
  }
  return out as unknown as NativeBinding;
}

let cached: NativeBinding | undefined;

/** The addon, loaded once. Throws one error that says what to do when it cannot be loaded. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const root = packageRoot();
  const require = createRequire(import.meta.url);
  try {
    const load = require('node-gyp-build') as (dir: string) => Record<string, unknown>;
    cached = wrapBinding(load(root));
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

/** Workspace sizes already asked for, by shape: the native answer depends on the dims alone. */
const workspaceSizes = new Map<string, number>();
/** Shapes kept before the cache starts over (sequence lengths vary; the cache must not grow forever). */
const kWorkspaceSizesKept = 1024;

/** Elements of the LSTM workspace for these dims, asked of the addon once per shape. */
export function lstmWorkspaceSize(dims: NativeWorkspaceDims): number {
  const training = dims.training ?? true;
  const key = `${dims.T},${dims.B},${dims.I},${dims.H},${dims.P},${training ? 1 : 0}`;
  let n = workspaceSizes.get(key);
  if (n === undefined) {
    n = loadNative().lstmWorkspaceSize({ T: dims.T, B: dims.B, I: dims.I, H: dims.H, P: dims.P, training });
    if (workspaceSizes.size >= kWorkspaceSizesKept) workspaceSizes.clear();
    workspaceSizes.set(key, n);
  }
  return n;
}
