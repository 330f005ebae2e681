// The GEMM seam: every matrix product in the kernel goes through gemm<F>().
//
//   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C        all row-major, like cblas
//
// op(A) = A (M, K) with leading dimension lda when ta == Trans::No, or A^T where A is stored
// (K, M) when ta == Trans::Yes; the same for B. beta == 0 means C is overwritten (never read, so it
// may hold NaN). M, N or K == 0 is valid: with K == 0, C = beta * C.
//
// Two implementations sit behind it:
//   - OpenBLAS through CBLAS when CMake found it (LSTM_NATIVE_HAVE_OPENBLAS) and the build was not
//     told LSTM_NATIVE_BLAS=builtin;
//   - the built-in cache-blocked GEMM (gemm_builtin.cc), with SIMD micro-kernels chosen at run time,
//     always compiled so tests can compare the two.
#pragma once

namespace lstm {

enum class Trans : int { No = 0, Yes = 1 };

// The configured backend (OpenBLAS when linked, the built-in GEMM otherwise).
template <typename F>
void gemm(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
          int ldb, F beta, F* C, int ldc);

// The built-in implementation, callable directly (tests compare it with OpenBLAS).
template <typename F>
void gemm_builtin(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                  const F* B, int ldb, F beta, F* C, int ldc);

// True when OpenBLAS is linked; then gemm_openblas() may be called.
bool gemm_have_openblas();
template <typename F>
void gemm_openblas(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                   const F* B, int ldb, F beta, F* C, int ldc);

// "openblas" or "builtin": what gemm() uses.
const char* gemm_backend_name();

// Threads for the BLAS library (no-op for the built-in GEMM, which uses the kernel's thread pool).
void gemm_set_blas_threads(int n);

}  // namespace lstm
