// Fused softmax cross-entropy forward + gradient (contract and formulas in ops_softmax_xent.h).
//
// Per row, a few sweeps over the C logits while the row sits in cache (L1/L2 up to C ~ 10^4):
//   1. m = max_c x_c
//   2. only with smoothing: SW = sum_c w_c (m - x_c)                  (double lanes)
//   3. e_c = exp(x_c - m) written into grad, then S = sum_c e_c        (double lanes)
//   4. grad_c = e_c * a - b w_c, then grad_t -= scale (1 - eps) w_t
// x_t and SW are read before sweep 3, so grad may be the logits buffer itself. Every sweep is a
// plain loop that GCC and Clang vectorise at -O3 for the baseline ISA (SSE2 / NEON): the sums use
// explicit lane arrays (the compiler may not reorder a plain float sum without -ffast-math), and
// selects are bit masks (see exp_nonpositive). A NaN logit, a +inf logit or an all -inf row makes
// that row's loss and gradient NaN, as in PyTorch.
//
// Variants: the row code is written once (XENT_INLINE functions) and instantiated twice: for the
// baseline ISA, and on x86 with GCC/Clang inside functions marked target("avx2,fma") (8 floats per
// vector and FMA: about 2.5x faster on the exp sweep). softmax_xent picks the AVX2 copy when
// active_isa() is avx2 or avx512 (so LSTM_NATIVE_ISA=scalar forces the baseline one). No intrinsics:
// the compiler vectorises the same loops for each target.
#include "ops_softmax_xent.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu_features.h"
#include "isa_table.h"
#include "thread_pool.h"

#if defined(LSTM_NATIVE_X86) && (defined(__GNUC__) || defined(__clang__))
#define LSTM_XENT_AVX2 1
// Forced, so the AVX2 callers get their own AVX2 copy of every helper.
#define XENT_INLINE inline __attribute__((always_inline))
#else
#define LSTM_XENT_AVX2 0
#define XENT_INLINE inline
#endif

namespace lstm {
namespace {

constexpr int kLanes = 8;
// A fixed partition of the rows for the reduced loss: the sum does not depend on the thread count.
constexpr int64_t kMaxBlocks = 256;
// Elements of work below which a thread is not worth waking.
constexpr int64_t kMinElementsPerThread = 1 << 15;

XENT_INLINE uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
XENT_INLINE float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The selects below are written on the bits (masks from comparisons), not as float `?:`: GCC keeps a
// float `?:` as a branch under its default -ftrapping-math, and a branch stops the vectoriser.

// exp(d) for d <= 0 (d = x - max), branch-free so loops over it vectorise. Cephes' expf: d = n ln2 + r
// with |r| <= ln2/2, a degree-6 polynomial for exp(r) (about 1 ulp), 2^n from the exponent bits.
// d < -87 (where expf leaves the normal range, so no denormal reaches later products) gives 0,
// d = -inf gives 0, NaN gives NaN.
XENT_INLINE float exp_nonpositive(float d) {
  const float lo = -87.0f;
  const uint32_t keep = 0u - static_cast<uint32_t>(d >= lo);   // all ones for d in [-87, 0]
  const uint32_t nan = 0u - static_cast<uint32_t>(d != d);
  const float dn = float_of((bits_of(d) & keep) | (bits_of(lo) & ~keep));  // finite, in [-87, 0]
  // Nearest integer to dn/ln2: dn*log2e - 0.5 <= 0 and the conversion truncates toward 0.
  const int32_t n = static_cast<int32_t>(dn * 1.44269504088896341f - 0.5f);
  const float fn = static_cast<float>(n);
  float r = dn - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const float e = er * float_of(static_cast<uint32_t>(n + 127) << 23);  // n in [-126, 0]: normal 2^n
  return float_of((bits_of(e) & keep) | (0x7fc00000u & nan));
}

// A signed integer that orders like the float (for everything but NaN), so the max below is an
// integer max, which vectorises.
XENT_INLINE int32_t order_key(float f) {
  const int32_t i = static_cast<int32_t>(bits_of(f));
  return i ^ ((i >> 31) & 0x7fffffff);
}
XENT_INLINE float from_order_key(int32_t k) {
  return float_of(static_cast<uint32_t>(k ^ ((k >> 31) & 0x7fffffff)));
}

// max_c x_c. A NaN with the sign bit clear orders above +inf and becomes the max (the row is NaN
// either way: any NaN logit makes its own exp NaN).
XENT_INLINE float row_max(const float* x, int64_t C) {
  int32_t m = order_key(-std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < C; ++c) {
    const int32_t k = order_key(x[c]);
    m = k > m ? k : m;
  }
  return from_order_key(m);
}

// sum_c w_c (m - x_c) in double (w == nullptr: weights of 1): the smoothing term's sum.
template <bool kWeighted>
XENT_INLINE double row_weighted_gap(const float* x, const float* w, int64_t C, float m) {
  double lane[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= C; c += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const double gap = static_cast<double>(m - x[c + k]);
      lane[k] += kWeighted ? static_cast<double>(w[c + k]) * gap : gap;
    }
  }
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lane[k];
  for (; c < C; ++c) s += (kWeighted ? static_cast<double>(w[c]) : 1.0) * static_cast<double>(m - x[c]);
  return s;
}

// Writes e_c = exp(x_c - m) to out (may equal x) and returns sum_c e_c in double.
XENT_INLINE double row_exp_sum(const float* x, float* out, int64_t C, float m) {
  for (int64_t c = 0; c < C; ++c) out[c] = exp_nonpositive(x[c] - m);
  double lane[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= C; c += kLanes) {
    for (int k = 0; k < kLanes; ++k) lane[k] += static_cast<double>(out[c + k]);
  }
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lane[k];
  for (; c < C; ++c) s += static_cast<double>(out[c]);
  return s;
}

struct RowConstants {
  const SoftmaxXentArgs* a;
  double scale;     // 1 / D for Mean, else 1 (0 when D == 0)
  double W;         // sum of the class weights (C without weights)
};

// One row: returns loss_n (unscaled) and writes the row's gradient.
template <bool kSmooth, bool kWeighted>
XENT_INLINE double xent_row(const RowConstants& k, int64_t n) {
  const SoftmaxXentArgs& a = *k.a;
  const int64_t C = a.C;
  const float* x = a.logits + n * C;
  float* g = a.grad + n * C;
  const int32_t t = a.targets[n];
  if (t == a.ignore_index) {
    std::fill(g, g + C, 0.0f);
    return 0.0;
  }
  if (t < 0 || t >= C) {
    // Checked up front, so only reachable when grad overlaps targets and an earlier row's gradient
    // overwrote this target: give NaN rather than index out of bounds.
    std::fill(g, g + C, std::numeric_limits<float>::quiet_NaN());
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double eps = a.label_smoothing;
  const double wt = kWeighted ? static_cast<double>(a.weight[t]) : 1.0;
  // Everything that reads x comes before row_exp_sum, which may overwrite it.
  const float m = row_max(x, C);
  const double m_minus_xt = static_cast<double>(m) - static_cast<double>(x[t]);
  double sw = 0;
  if constexpr (kSmooth) sw = row_weighted_gap<kWeighted>(x, a.weight, C, m);
  const double S = row_exp_sum(x, g, C, m);
  const double log_s = std::log(S);
  double loss = (1.0 - eps) * wt * (log_s + m_minus_xt);
  if constexpr (kSmooth) loss += eps / static_cast<double>(C) * (k.W * log_s + sw);

  // grad_c = e_c * ga - gb * w_c ; grad_t -= gt
  const float ga = static_cast<float>(k.scale * ((1.0 - eps) * wt + eps * k.W / static_cast<double>(C)) / S);
  const float gb = static_cast<float>(k.scale * eps / static_cast<double>(C));
  if (kSmooth && kWeighted) {
    const float* w = a.weight;
    for (int64_t c = 0; c < C; ++c) g[c] = g[c] * ga - gb * w[c];
  } else {
    for (int64_t c = 0; c < C; ++c) g[c] = g[c] * ga - gb;
  }
  g[t] -= static_cast<float>(k.scale * (1.0 - eps) * wt);
  return loss;
}

template <bool kSmooth, bool kWeighted>
XENT_INLINE void xent_rows(const RowConstants& k, int64_t begin, int64_t end, double* sum) {
  double s = 0;
  for (int64_t n = begin; n < end; ++n) {
    const double loss = xent_row<kSmooth, kWeighted>(k, n);
    if (k.a->row_loss) k.a->row_loss[n] = static_cast<float>(loss);
    s += loss;
  }
  *sum = s;
}

using RowsFn = void (*)(const RowConstants&, int64_t, int64_t, double*);

template <bool kSmooth, bool kWeighted>
void xent_rows_baseline(const RowConstants& k, int64_t begin, int64_t end, double* sum) {
  xent_rows<kSmooth, kWeighted>(k, begin, end, sum);
}

#if LSTM_XENT_AVX2
template <bool kSmooth, bool kWeighted>
__attribute__((target("avx2,fma"))) void xent_rows_avx2(const RowConstants& k, int64_t begin, int64_t end,
                                                        double* sum) {
  xent_rows<kSmooth, kWeighted>(k, begin, end, sum);
}
#endif

RowsFn pick_rows(bool smooth, bool weighted, Isa isa) {
#if LSTM_XENT_AVX2
  if (isa == Isa::Avx2 || isa == Isa::Avx512) {
    return smooth ? (weighted ? &xent_rows_avx2<true, true> : &xent_rows_avx2<true, false>)
                  : (weighted ? &xent_rows_avx2<false, true> : &xent_rows_avx2<false, false>);
  }
#endif
  (void)isa;
  return smooth ? (weighted ? &xent_rows_baseline<true, true> : &xent_rows_baseline<true, false>)
                : (weighted ? &xent_rows_baseline<false, true> : &xent_rows_baseline<false, false>);
}

}  // namespace

int64_t softmax_xent_invalid_target(const int32_t* targets, int64_t N, int64_t C, int32_t ignore_index) {
  for (int64_t n = 0; n < N; ++n) {
    const int32_t t = targets[n];
    if (t != ignore_index && (t < 0 || static_cast<int64_t>(t) >= C)) return n;
  }
  return -1;
}

Status softmax_xent(const SoftmaxXentArgs& a, double* total) {
  return softmax_xent(a, total, isa_table().softmax);
}

Status softmax_xent(const SoftmaxXentArgs& a, double* total, Isa isa) {
  if (!cpu_supports(isa)) return Status::InvalidDims;
  if (a.N < 0 || a.C < 1 || !(a.label_smoothing >= 0.0f && a.label_smoothing <= 1.0f)) {
    return Status::InvalidDims;
  }
  if (total == nullptr || (a.N > 0 && (a.logits == nullptr || a.targets == nullptr || a.grad == nullptr))) {
    return Status::NullPointer;
  }
  if (softmax_xent_invalid_target(a.targets, a.N, a.C, a.ignore_index) >= 0) return Status::InvalidLength;

  RowConstants k{&a, 1.0, static_cast<double>(a.C)};
  if (a.weight) {
    double W = 0;
    for (int64_t c = 0; c < a.C; ++c) W += a.weight[c];
    k.W = W;
  }
  double denominator = 0;
  if (a.reduction == Reduction::Mean) {
    for (int64_t n = 0; n < a.N; ++n) {
      const int32_t t = a.targets[n];
      if (t != a.ignore_index) denominator += a.weight ? static_cast<double>(a.weight[t]) : 1.0;
    }
    k.scale = denominator != 0 ? 1.0 / denominator : 0.0;
  }

  const RowsFn rows = pick_rows(a.label_smoothing > 0.0f, a.weight != nullptr, isa);

  const int64_t blocks = std::min<int64_t>(a.N, kMaxBlocks);
  double partial[kMaxBlocks] = {};
  if (blocks > 0) {
    const int64_t rows_per_block = (a.N + blocks - 1) / blocks;
    const int64_t block_elems = std::max<int64_t>(1, rows_per_block * a.C);
    const int64_t min_blocks = std::max<int64_t>(1, kMinElementsPerThread / block_elems);
    parallel_for_min(blocks, min_blocks, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r0 = a.N * b / blocks, r1 = a.N * (b + 1) / blocks;
        rows(k, r0, r1, &partial[b]);
      }
    });
  }
  double sum = 0;
  for (int64_t b = 0; b < blocks; ++b) sum += partial[b];
  if (a.reduction == Reduction::Mean) {
    *total = denominator != 0 ? sum / denominator : std::numeric_limits<double>::quiet_NaN();
  } else {
    *total = sum;
  }
  return Status::Ok;
}

}  // namespace lstm
