// The per-class choice of GEMM (contract and rule in gemm_choice.h).
#include "gemm_choice.h"

#include <chrono>
#include <cstring>
#include <type_traits>
#include <vector>

#include "gemm_builtin.h"
#include "kernel_config.h"

namespace lstm {
namespace {

// One representative product per class: (ta, tb, M, N, K), ~30-130 MFLOP.
struct Shape {
  Trans ta, tb;
  int M, N, K;
};
Shape calibration_shape(GemmUse u) {
  switch (u) {
    case GemmUse::LstmForward: return {Trans::No, Trans::Yes, 512, 1024, 128};  // x W_ih^T, H 256
    case GemmUse::LstmBackward: return {Trans::Yes, Trans::No, 1024, 256, 256};  // dG^T H_prev
    case GemmUse::LinearForward: return {Trans::No, Trans::Yes, 512, 128, 256};
    case GemmUse::LinearBackward: return {Trans::Yes, Trans::No, 128, 256, 512};
  }
  return {Trans::No, Trans::No, 256, 256, 256};
}

// Seconds of the fastest of 3 runs after one warm-up.
template <class Fn>
double best_of_3(Fn&& run) {
  run();
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < best) best = s;
  }
  return best;
}

GemmImpl calibrate(GemmUse u) {
  const Shape sh = calibration_shape(u);
  const int a_rows = sh.ta == Trans::No ? sh.M : sh.K, a_cols = sh.ta == Trans::No ? sh.K : sh.M;
  const int b_rows = sh.tb == Trans::No ? sh.K : sh.N, b_cols = sh.tb == Trans::No ? sh.N : sh.K;
  std::vector<float> A(static_cast<size_t>(a_rows) * a_cols), B(static_cast<size_t>(b_rows) * b_cols),
      C(static_cast<size_t>(sh.M) * sh.N);
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>(i % 17) * 0.0625f - 0.5f;
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>(i % 13) * 0.0625f - 0.375f;
  auto run = [&](bool blas) {
    return [&, blas] {
      auto fn = blas ? &gemm_openblas<float> : &gemm_builtin<float>;
      fn(sh.ta, sh.tb, sh.M, sh.N, sh.K, 1.0f, A.data(), a_cols, B.data(), b_cols, 0.0f, C.data(),
         sh.N);
    };
  };
  const double builtin = best_of_3(run(false));
  const double blas = best_of_3(run(true));
  return blas < 0.9 * builtin ? GemmImpl::OpenBlas : GemmImpl::Builtin;
}

bool lstm_class(GemmUse u) { return u == GemmUse::LstmForward || u == GemmUse::LstmBackward; }

GemmImpl decide(GemmUse u) {
  const bool blas = gemm_have_openblas();
  const KernelConfig& c = kernel_config();
  if (blas && lstm_class(u) && c.lstm_gemm_blas) return GemmImpl::OpenBlas;
  switch (gemm_rule(blas, gemm_detail::gemm_builtin_active_isa(), c.gemm)) {
    case GemmRule::Builtin: return GemmImpl::Builtin;
    case GemmRule::OpenBlas: return GemmImpl::OpenBlas;
    // The LSTM classes stay on the built-in GEMM: it never splits the K sum across threads, so
    // an LSTM's results do not depend on the thread count (the kernel's contract, tested bit for
    // bit); OpenBLAS's blocking does change with its thread count.
    case GemmRule::Calibrate: return lstm_class(u) ? GemmImpl::Builtin : calibrate(u);
  }
  return GemmImpl::Builtin;
}

}  // namespace

const char* gemm_use_name(GemmUse u) {
  switch (u) {
    case GemmUse::LstmForward: return "lstmForward";
    case GemmUse::LstmBackward: return "lstmBackward";
    case GemmUse::LinearForward: return "linearForward";
    case GemmUse::LinearBackward: return "linearBackward";
  }
  return "unknown";
}

const char* gemm_impl_name(GemmImpl impl) {
  return impl == GemmImpl::OpenBlas ? "openblas" : "builtin";
}

GemmRule gemm_rule(bool have_openblas, Isa builtin_isa, const char* forced) {
  if (!have_openblas) return GemmRule::Builtin;
  if (forced && std::strcmp(forced, "builtin") == 0) return GemmRule::Builtin;
  if (forced && std::strcmp(forced, "openblas") == 0) return GemmRule::OpenBlas;
  if (builtin_isa == Isa::Avx512) return GemmRule::Builtin;
  if (builtin_isa == Isa::Avx2) return GemmRule::Calibrate;
  return GemmRule::OpenBlas;  // scalar micro-kernels (the built-in GEMM has no NEON ones)
}

GemmImpl gemm_impl_for(GemmUse u) {
  // One decision per class, each made at its first use (thread-safe statics).
  switch (u) {
    case GemmUse::LstmForward: { static const GemmImpl g = decide(u); return g; }
    case GemmUse::LstmBackward: { static const GemmImpl g = decide(u); return g; }
    case GemmUse::LinearForward: { static const GemmImpl g = decide(u); return g; }
    case GemmUse::LinearBackward: { static const GemmImpl g = decide(u); return g; }
  }
  return GemmImpl::Builtin;
}

template <typename F>
void gemm_for(GemmUse u, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
              const F* B, int ldb, F beta, F* C, int ldc) {
  if constexpr (std::is_same_v<F, float>) {
    if (gemm_impl_for(u) == GemmImpl::Builtin) {
      gemm_builtin<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
      gemm_openblas<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
  } else {
    (void)u;
    gemm<F>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

template void gemm_for<float>(GemmUse, Trans, Trans, int, int, int, float, const float*, int,
                              const float*, int, float, float*, int);
template void gemm_for<double>(GemmUse, Trans, Trans, int, int, int, double, const double*, int,
                               const double*, int, double, double*, int);

}  // namespace lstm
