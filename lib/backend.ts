/** What the native backend is and how many threads it uses. */
import { loadNative, type NativeGemmChoice, type NativeKernelConfig, type NativeKernelTable } from './binding.js';
import { checkInteger } from './validate.js';

/** Returned by {@link backendInfo}. */
export interface BackendInfo {
  /** The GEMM behind every matrix product: OpenBLAS when the build found it, else the built-in one. */
  blas: 'openblas' | 'builtin';
  /** The SIMD variant of the pointwise math and built-in GEMM, chosen at load from the CPU. */
  isa: 'avx512' | 'avx2' | 'neon' | 'scalar';
  /** Threads the kernel uses (its own pool and OpenBLAS's). */
  threads: number;
  /** The environment knobs as read once at load (the README's table lists them). */
  config: NativeKernelConfig;
  /** The kernel variants chosen once at load: the ISA, and the gates', step's, GEMM's and softmax's. */
  kernels: NativeKernelTable;
  /**
   * The GEMM each class of product runs on, chosen once per process (native/kernel/gemm_choice.h):
   * the LSTM's products on the built-in GEMM wherever it has SIMD kernels (their bits then do not
   * depend on the thread count), the dense layers' on OpenBLAS when linked and faster in a short
   * calibration; `LSTM_NATIVE_GEMM` forces one for every class.
   */
  gemm: NativeGemmChoice;
}

/**
 * Reports the GEMM backend, the SIMD path chosen for this CPU, the thread count, the configuration
 * read from the environment, the kernel variants in use and the GEMM of each class of product.
 * @example backendInfo() // { blas: 'openblas', isa: 'avx2', threads: 2, config: {...}, kernels: {...}, gemm: {...} }
 */
export function backendInfo(): BackendInfo {
  const info = loadNative().backendInfo();
  return { blas: info.blas, isa: info.isa, threads: info.threads, config: info.config, kernels: info.kernels,
    gemm: info.gemm };
}

/**
 * Sets how many threads the kernel uses, for its own pool and OpenBLAS's together (so the two never
 * oversubscribe the cores). Default: the number of cores, or LSTM_NATIVE_NUM_THREADS. Async calls
 * run on libuv's pool (UV_THREADPOOL_SIZE) and each uses these threads in turn: two concurrent
 * calls do not use twice as many.
 * @throws RangeError unless n is an integer in [1, 1024].
 */
export function setNumThreads(n: number): void {
  checkInteger('setNumThreads', 'n', n, 1, 1024);
  loadNative().setNumThreads({ threads: n });
}
