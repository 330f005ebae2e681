// The GEMM seam (contract in gemm.h): gemm<F>() forwards to OpenBLAS when the build linked it
// (LSTM_NATIVE_HAVE_OPENBLAS) and to the built-in blocked GEMM (gemm_driver.h) otherwise.
//
// gemm_openblas<F>() wraps cblas_?gemm / cblas_?gemv (row-major) and handles what BLAS should not
// be asked to do:
//   - M, N == 0: nothing to do; K == 0 or alpha == 0: C = beta * C (beta == 0 writes zeros, never
//     reads C), without calling BLAS.
//   - M == 1 or N == 1: ?gemv instead of ?gemm. OpenBLAS 0.3.21's sgemm with M = 1 is up to 12x
//     slower than sgemv on the same matrix (shared/anchors/RESULTS.md, "Batch-1 cliff").
// Without OpenBLAS the function still exists (the binding refuses 'openblas' first, since
// gemm_have_openblas() is false) and falls back to the built-in GEMM, so it can never leave C
// unwritten.
#include "gemm.h"

#include <cstddef>

#if defined(LSTM_NATIVE_HAVE_OPENBLAS) && LSTM_NATIVE_HAVE_OPENBLAS
#define LSTM_GEMM_OPENBLAS 1
#include <cblas.h>
// Declared by OpenBLAS's cblas.h; repeated so other CBLAS headers also compile.
extern "C" void openblas_set_num_threads(int num_threads);
#else
#define LSTM_GEMM_OPENBLAS 0
#endif

namespace lstm {
namespace {

// C (M, N) = beta * C; beta == 0 overwrites (C may hold NaN).
template <typename F>
void scale_c(int M, int N, F beta, F* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    F* c = C + static_cast<ptrdiff_t>(i) * ldc;
    if (beta == F(0)) {
      for (int j = 0; j < N; ++j) c[j] = F(0);
    } else if (beta != F(1)) {
      for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

#if LSTM_GEMM_OPENBLAS
CBLAS_TRANSPOSE cblas_trans(Trans t) { return t == Trans::Yes ? CblasTrans : CblasNoTrans; }

template <typename F>
void blas_gemv(CBLAS_TRANSPOSE t, int rows, int cols, F alpha, const F* A, int lda, const F* x,
               int incx, F beta, F* y, int incy) {
  if constexpr (sizeof(F) == sizeof(float)) {
    cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, A, lda, x, incx, beta, y, incy);
  } else {
    cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, A, lda, x, incx, beta, y, incy);
  }
}

template <typename F>
void blas_gemm(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
               int ldb, F beta, F* C, int ldc) {
  if constexpr (sizeof(F) == sizeof(float)) {
    cblas_sgemm(CblasRowMajor, cblas_trans(ta), cblas_trans(tb), M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, cblas_trans(ta), cblas_trans(tb), M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc);
  }
}
#endif

}  // namespace

bool gemm_have_openblas() { return LSTM_GEMM_OPENBLAS != 0; }

const char* gemm_backend_name() { return LSTM_GEMM_OPENBLAS ? "openblas" : "builtin"; }

void gemm_set_blas_threads(int n) {
#if LSTM_GEMM_OPENBLAS
  openblas_set_num_threads(n < 1 ? 1 : n);
#else
  (void)n;
#endif
}

template <typename F>
void gemm_openblas(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                   const F* B, int ldb, F beta, F* C, int ldc) {
#if LSTM_GEMM_OPENBLAS
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == F(0)) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  // Some OpenBLAS releases scale y by beta with a NaN-propagating ?scal even when beta == 0;
  // BLAS semantics say y is not read then, so clear it first (N or M writes, next to M*N*K work).
  if (M == 1) {
    // y (N) = C row 0; x (K) = op(A) row 0, contiguous or strided by lda.
    if (beta == F(0)) scale_c(1, N, F(0), C, ldc);
    const int incx = ta == Trans::No ? 1 : lda;
    if (tb == Trans::Yes) {  // B stored (N, K): y = B x
      blas_gemv<F>(CblasNoTrans, N, K, alpha, B, ldb, A, incx, beta, C, 1);
    } else {                 // B stored (K, N): y = B^T x
      blas_gemv<F>(CblasTrans, K, N, alpha, B, ldb, A, incx, beta, C, 1);
    }
    return;
  }
  if (N == 1) {
    // y (M) = C column 0, strided by ldc; x (K) = op(B) column 0.
    if (beta == F(0)) scale_c(M, 1, F(0), C, ldc);
    const int incx = tb == Trans::No ? ldb : 1;
    if (ta == Trans::No) {   // A stored (M, K): y = A x
      blas_gemv<F>(CblasNoTrans, M, K, alpha, A, lda, B, incx, beta, C, ldc);
    } else {                 // A stored (K, M): y = A^T x
      blas_gemv<F>(CblasTrans, K, M, alpha, A, lda, B, incx, beta, C, ldc);
    }
    return;
  }
  blas_gemm<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
  gemm_builtin<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

template <typename F>
void gemm(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
          int ldb, F beta, F* C, int ldc) {
#if LSTM_GEMM_OPENBLAS
  gemm_openblas<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
  gemm_builtin<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

template void gemm<float>(Trans, Trans, int, int, int, float, const float*, int, const float*, int,
                          float, float*, int);
template void gemm<double>(Trans, Trans, int, int, int, double, const double*, int, const double*,
                           int, double, double*, int);
template void gemm_openblas<float>(Trans, Trans, int, int, int, float, const float*, int,
                                   const float*, int, float, float*, int);
template void gemm_openblas<double>(Trans, Trans, int, int, int, double, const double*, int,
                                    const double*, int, double, double*, int);

}  // namespace lstm
