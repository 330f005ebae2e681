// The built-in GEMM's entry points (contract in gemm.h and gemm_builtin.h): each product goes to
// scaling (K == 0 or alpha == 0), the matrix-vector path (M == 1 or N == 1, gemm_gemv.cc) or the
// threaded blocked path (gemm_blocked.cc), with the kernel set of the ISA chosen once
// (gemm_isa_table.cc).
#include "gemm_driver.h"

namespace lstm {
namespace gemm_detail {
namespace {

// C (M, N) = beta * C; beta == 0 overwrites.
template <typename F>
void scale_c(int M, int N, F beta, F* C, ptrdiff_t ldc) {
  for (int i = 0; i < M; ++i) {
    F* c = C + i * ldc;
    if (beta == F(0)) {
      for (int j = 0; j < N; ++j) c[j] = F(0);
    } else if (beta != F(1)) {
      for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

}  // namespace

template <typename F>
void gemm_run(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A,
              int lda, const F* B, int ldb, F beta, F* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == F(0)) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (M == 1 || N == 1) {
    gemv_path(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemm_threaded(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename F>
void gemm_builtin_isa(Isa isa, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                      const F* B, int ldb, F beta, F* C, int ldc) {
  gemm_run(kernels_for<F>(isa), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename F>
bool gemm_with_kernels(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                       const F* A, int lda, const F* B, int ldb, F beta, F* C, int ldc) {
  Kernels<F> k = kr;
  if (!complete_kernels(&k)) return false;
  gemm_run(k, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return true;
}

#define LSTM_GEMM_ENTRY_INSTANTIATE(F)                                                              \
  template void gemm_run<F>(const Kernels<F>&, Trans, Trans, int, int, int, F, const F*, int,     \
                            const F*, int, F, F*, int);                                           \
  template void gemm_builtin_isa<F>(Isa, Trans, Trans, int, int, int, F, const F*, int, const F*, \
                                    int, F, F*, int);                                             \
  template bool gemm_with_kernels<F>(const Kernels<F>&, Trans, Trans, int, int, int, F, const F*, \
                                     int, const F*, int, F, F*, int);
LSTM_GEMM_ENTRY_INSTANTIATE(float)
LSTM_GEMM_ENTRY_INSTANTIATE(double)
#undef LSTM_GEMM_ENTRY_INSTANTIATE

}  // namespace gemm_detail

template <typename F>
void gemm_builtin(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
                  int ldb, F beta, F* C, int ldc) {
  gemm_detail::gemm_run(gemm_detail::active_kernels<F>(), ta, tb, M, N, K, alpha, A, lda, B, ldb,
                        beta, C, ldc);
}

template void gemm_builtin<float>(Trans, Trans, int, int, int, float, const float*, int,
                                  const float*, int, float, float*, int);
template void gemm_builtin<double>(Trans, Trans, int, int, int, double, const double*, int,
                                   const double*, int, double, double*, int);

}  // namespace lstm
