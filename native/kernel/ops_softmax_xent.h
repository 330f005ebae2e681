// Softmax cross-entropy over class indices, forward and gradient fused: one call makes one pass over
// the rows, and for each row (while it sits in cache) computes the max, the log-sum-exp, the row's
// loss and d loss / d logits. Plain C++17: no Node-API, never throws, allocates nothing.
//
// Dimensions:  N rows (every leading dim of (..., C) flattened)   C classes
//   logits (N, C) float32      targets (N) int32      weight (C) float32 or nullptr (all ones)
//   grad   (N, C) float32, may be logits itself (in place)        row_loss (N) float32 or nullptr
// grad must not partly overlap logits nor overlap the other buffers: the answer would be wrong, but
// no memory outside the buffers is ever touched (each row's target is checked before it is used).
//
// Definitions (PyTorch's nn.CrossEntropyLoss with class-index targets, classes last):
//   lse_n    = log sum_c exp(x_nc)                      W = sum_c w_c
//   nll_n    = w_{t_n} (lse_n - x_{n,t_n})
//   smooth_n = (1/C) sum_c w_c (lse_n - x_nc)
//   loss_n   = (1 - eps) nll_n + eps smooth_n,   0 for a row whose target is ignore_index
//   reduction None/Sum: total = sum_n loss_n                       scale = 1
//   reduction Mean:     total = sum_n loss_n / D, D = sum over non-ignored rows of w_{t_n}
//                       (the count of non-ignored rows without weights)     scale = 1 / D
//   grad_nc  = scale * ( p_nc ((1 - eps) w_{t_n} + eps W / C) - (1 - eps) w_{t_n} [c == t_n]
//                        - eps w_c / C ),   p_nc = softmax_c(x_n); 0 on ignored rows
// When Mean has D == 0 (every target ignored, or all their weights 0) total is NaN (PyTorch's 0/0)
// and grad is all zeros.
//
// Numerics: the row max is subtracted before exp (so logits of +-1e4 give finite results); exp is
// a branch-free float polynomial the compiler vectorises; the row sums (sum exp, sum w (max - x))
// and the loss are accumulated in double. Rows are split over the thread pool when N*C is large;
// the total is summed over a fixed partition of rows, so it does not depend on the thread count.
// The AVX2 build of the loops (chosen by the ISA table, isa_table.h) rounds differently from the
// baseline one (FMA); both are within a few float32 ulp of the float64 definition.
#pragma once

#include <cstdint>

#include "cpu_features.h"
#include "status.h"

namespace lstm {

enum class Reduction : int { None = 0, Sum = 1, Mean = 2 };

struct SoftmaxXentArgs {
  int64_t N = 0;                 // rows, >= 0
  int64_t C = 0;                 // classes, >= 1
  const float* logits = nullptr;   // (N, C)
  const int32_t* targets = nullptr;  // (N): each in [0, C) or == ignore_index
  const float* weight = nullptr;   // (C) class weights, or nullptr
  int32_t ignore_index = -100;
  float label_smoothing = 0.0f;    // eps in [0, 1]
  Reduction reduction = Reduction::Mean;
  float* grad = nullptr;           // (N, C) out, may equal logits
  float* row_loss = nullptr;       // (N) out, unscaled loss_n, or nullptr
};

// The first row whose target is outside [0, C) and not ignore_index, or -1 when all are valid.
int64_t softmax_xent_invalid_target(const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index);

// Computes the definitions above: writes grad (and row_loss when given) and stores the reduced
// loss in *total. Returns InvalidDims for N < 0, C < 1 or eps outside [0, 1], NullPointer for a
// missing buffer, InvalidLength when a target is invalid (see softmax_xent_invalid_target; nothing
// is written then).
Status softmax_xent(const SoftmaxXentArgs& a, double* total);
// The same with a given variant (Scalar = the baseline-ISA build of the loops; Avx2 and Avx512 use
// the AVX2+FMA build, Neon the baseline one); InvalidDims when cpu_supports(isa) is false. For tests.
Status softmax_xent(const SoftmaxXentArgs& a, double* total, Isa isa);

}  // namespace lstm
