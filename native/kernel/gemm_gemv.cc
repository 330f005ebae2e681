// The built-in GEMM's matrix-vector path (M == 1 or N == 1; contract in gemm_driver.h): the
// product as y = alpha * op(M) x + beta * y through the kernel set's GEMV kernels, never through
// packing, split over output rows or columns when large.
#include <algorithm>
#include <cstdint>

#include "gemm_driver.h"
#include "thread_pool.h"

namespace lstm {
namespace gemm_detail {
namespace {

thread_local Scratch tl_vec_x, tl_vec_y;

constexpr int64_t kGemvMinPerThread = 32768;  // matrix elements per thread

}  // namespace

template <typename F>
void gemv_path(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A,
               ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc) {
  // Describe it as y = alpha * op(Mx) x + beta * y over `len` outputs.
  const F* x;          // K elements, contiguous
  const F* mat;        // the matrix
  ptrdiff_t ldm;
  bool dot;            // rows of mat are contiguous in k (dot form) or columns are (axpy form)
  int len;
  ptrdiff_t incy;
  auto contiguous = [&](const F* v, ptrdiff_t inc) -> const F* {
    if (inc == 1) return v;
    F* buf = tl_vec_x.get<F>(static_cast<size_t>(K));
    if (buf == nullptr) return nullptr;
    for (int k = 0; k < K; ++k) buf[k] = v[k * inc];
    return buf;
  };
  if (M == 1) {
    x = contiguous(A, ta == Trans::No ? 1 : lda);
    mat = B;
    ldm = ldb;
    dot = tb == Trans::Yes;
    len = N;
    incy = 1;
  } else {
    x = contiguous(B, tb == Trans::Yes ? 1 : ldb);
    mat = A;
    ldm = lda;
    dot = ta == Trans::No;
    len = M;
    incy = ldc;
  }
  F* y = C;
  F* ytmp = nullptr;
  if (!dot && incy != 1) {  // the axpy form writes a contiguous y: go through a scratch vector
    ytmp = tl_vec_y.get<F>(static_cast<size_t>(len));
    y = ytmp;
  }
  if (x == nullptr || (!dot && incy != 1 && ytmp == nullptr)) {
    gemm_unpacked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const F beta_k = ytmp ? F(0) : beta;
  auto run = [&](int j0, int j1) {
    if (dot) {
      kr.gemv_dot(j1 - j0, K, alpha, mat + j0 * ldm, ldm, x, beta_k, y + j0 * incy, incy);
    } else {
      kr.gemv_axpy(K, j1 - j0, alpha, mat + j0, ldm, x, beta_k, y + j0);
    }
  };
  const int64_t work = static_cast<int64_t>(len) * K;
  const int T = static_cast<int>(std::min<int64_t>(num_threads(), work / kGemvMinPerThread));
  if (T <= 1 || len < 64) {
    run(0, len);
  } else {
    const int unit = 16, units = ceil_div(len, unit);
    parallel_for(std::min(T, units), [&](int64_t t0, int64_t t1) {
      const int parts = std::min(T, units);
      for (int64_t t = t0; t < t1; ++t) {
        const int j0 = std::min(len, static_cast<int>(units * t / parts) * unit);
        const int j1 = std::min(len, static_cast<int>(units * (t + 1) / parts) * unit);
        if (j1 > j0) run(j0, j1);
      }
    });
  }
  if (ytmp != nullptr) {
    for (int i = 0; i < len; ++i) {
      F* c = C + i * incy;
      *c = beta == F(0) ? ytmp[i] : ytmp[i] + beta * *c;
    }
  }
}

template void gemv_path<float>(const Kernels<float>&, Trans, Trans, int, int, int, float,
                               const float*, ptrdiff_t, const float*, ptrdiff_t, float, float*,
                               ptrdiff_t);
template void gemv_path<double>(const Kernels<double>&, Trans, Trans, int, int, int, double,
                                const double*, ptrdiff_t, const double*, ptrdiff_t, double, double*,
                                ptrdiff_t);

}  // namespace gemm_detail
}  // namespace lstm
