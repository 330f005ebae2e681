/** What the native backend is and how many threads it uses. */
import { loadNative, type NativeKernelConfig, type NativeKernelTable } from './binding.js';
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
}

/**
 * Reports the GEMM backend, the SIMD path chosen for this CPU, the thread count, the configuration
 * read from the environment and the kernel variants in use.
 * @example backendInfo() // { blas: 'openblas', isa: 'avx2', threads: 2, config: {...}, kernels: {...} }
 */
export function backendInfo(): BackendInfo {
  const info = loadNative().backendInfo();
  return { blas: info.blas, isa: info.isa, threads: info.threads, config: info.config, kernels: info.kernels };
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
