// Which GEMM runs each class of matrix product (gemm_choice.cc): the built-in blocked GEMM or
// OpenBLAS, decided once per process per class, so that a build linking OpenBLAS never runs a
// product on the slower of the two. backendInfo().gemm reports the choice.
//
// The decision for a class (gemm_rule, then a calibration where the rule has no answer):
//   - only the built-in GEMM is linked: built-in.
//   - LSTM_NATIVE_GEMM=builtin | openblas (kernel_config.h): that one for every class (reproducible
//     bits across processes; openblas only when linked). LSTM_NATIVE_LSTM_GEMM=blas: OpenBLAS for
//     the LSTM classes.
//   - the built-in GEMM runs its AVX-512 kernels: built-in (faster than OpenBLAS 0.3.21 on every
//     LSTM shape measured on AVX-512 CPUs; bench/RESULTS.md).
//   - the built-in GEMM runs its scalar kernels (no AVX2; arm64, which has no built-in SIMD GEMM):
//     OpenBLAS.
//   - otherwise (AVX2): the LSTM classes run on the built-in GEMM (results independent of the
//     thread count, see gemm_choice.cc); the dense classes calibrate at their first product, both GEMMs on one
//     representative shape of the class (best of 3 after a warm-up, ~1-3 ms each); OpenBLAS only
//     when it is at least 10% faster, since the built-in GEMM shares the kernel's thread pool
//     (OpenBLAS's own threads spin against it between calls) and a near tie should not flip from
//     process to process.
// float only: double products (gradient checks) always run gemm<double>().
#pragma once

#include "cpu_features.h"
#include "gemm.h"

namespace lstm {

enum class GemmUse : int {
  LstmForward = 0,   // the LSTM forward's hoisted input product and projection
  LstmBackward = 1,  // BPTT: the weight and input gradients, the projection's per-step products
  LinearForward = 2,   // dense layers: y = x W^T
  LinearBackward = 3,  // dense layers: dW += dy^T x, dx = dy W
};
constexpr int kGemmUses = 4;

enum class GemmImpl : int { Builtin = 0, OpenBlas = 1 };

// "lstmForward", "lstmBackward", "linearForward", "linearBackward".
const char* gemm_use_name(GemmUse u);
// "builtin", "openblas".
const char* gemm_impl_name(GemmImpl impl);

// The rule above without the calibration (pure; tests call it with made-up inputs). forced: the
// value of LSTM_NATIVE_GEMM (nullptr or "" when unset; anything but builtin / openblas is auto).
enum class GemmRule : int { Builtin = 0, OpenBlas = 1, Calibrate = 2 };
GemmRule gemm_rule(bool have_openblas, Isa builtin_isa, const char* forced);

// The GEMM the products of class u run on (the first call for a class may calibrate).
GemmImpl gemm_impl_for(GemmUse u);

// C = alpha op(A) op(B) + beta C on the GEMM chosen for u (contract of gemm() in gemm.h).
template <typename F>
void gemm_for(GemmUse u, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
              const F* B, int ldb, F beta, F* C, int ldc);

}  // namespace lstm
