// Linear forward/backward over the GEMM chosen for dense layers (gemm_choice.h; see ops_linear.h). The bias is broadcast into y
// first so the GEMM accumulates onto it (beta = 1): one pass over y instead of two.
#include "ops_linear.h"

#include <cstring>

#include "gemm_choice.h"
#include "thread_pool.h"

namespace lstm {

template <typename F>
void linear_forward(F* y, const F* x, const F* W, const F* b, int N, int in, int out) {
  if (N == 0 || out == 0) return;
  if (b) {
    parallel_for_min(N, 256, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::memcpy(y + r * out, b, sizeof(F) * out);
    });
  }
  gemm_for<F>(GemmUse::LinearForward, Trans::No, Trans::Yes, N, out, in, F(1), x, in, W, in, b ? F(1) : F(0), y, out);
}

template <typename F>
void linear_backward(F* dx, F* dW, F* db, const F* dy, const F* x, const F* W, int N, int in, int out) {
  if (N == 0) return;
  gemm_for<F>(GemmUse::LinearBackward, Trans::Yes, Trans::No, out, in, N, F(1), dy, out, x, in, F(1), dW, in);
  if (db) {
    // Column sums split over columns, so no two threads write the same output.
    parallel_for_min(out, 64, [&](int64_t j0, int64_t j1) {
      for (int r = 0; r < N; ++r) {
        const F* row = dy + static_cast<size_t>(r) * out;
        for (int64_t j = j0; j < j1; ++j) db[j] += row[j];
      }
    });
  }
  if (dx) gemm_for<F>(GemmUse::LinearBackward, Trans::No, Trans::No, N, in, out, F(1), dy, out, W, in, F(0), dx, in);
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int, int, int);
template void linear_forward<double>(double*, const double*, const double*, const double*, int, int, int);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int, int, int);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*, int, int,
                                      int);

}  // namespace lstm
