// AVX2+FMA kernels of the fast LSTM recurrent product (layouts in lstm_recurrent.h).
// Compiled with -mavx2 -mfma and used only after cpu_supports(Isa::Avx2) (rec_kernels()): internal
// linkage only, no C++ library header (see gates_avx2.cc). The table below is constant data.
#if defined(LSTM_NATIVE_X86)

#include <immintrin.h>

#include "lstm_recurrent.h"

namespace lstm {
namespace rec {
namespace {

// MR rows x 16 columns in 2*MR ymm accumulators; with MR <= 2 the k loop is split over two
// accumulator sets so the FMA latency is hidden.
template <int MR>
void tile16_mr(int K, const float* a, ptrdiff_t lda, const float* p, ptrdiff_t ldp, float* s,
               ptrdiff_t lds) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  int k = 0;
  if constexpr (MR <= 2) {
    __m256 d0[MR], d1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) d0[r] = d1[r] = _mm256_setzero_ps();
    for (; k + 2 <= K; k += 2) {
      const float* pk = p + k * ldp;
      const __m256 b0 = _mm256_loadu_ps(pk), b1 = _mm256_loadu_ps(pk + 8);
      const __m256 e0 = _mm256_loadu_ps(pk + ldp), e1 = _mm256_loadu_ps(pk + ldp + 8);
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        const __m256 ar = _mm256_broadcast_ss(a + r * lda + k);
        c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
        const __m256 aq = _mm256_broadcast_ss(a + r * lda + k + 1);
        d0[r] = _mm256_fmadd_ps(aq, e0, d0[r]);
        d1[r] = _mm256_fmadd_ps(aq, e1, d1[r]);
      }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      c0[r] = _mm256_add_ps(c0[r], d0[r]);
      c1[r] = _mm256_add_ps(c1[r], d1[r]);
    }
  }
  for (; k < K; ++k) {
    const float* pk = p + k * ldp;
    const __m256 b0 = _mm256_loadu_ps(pk), b1 = _mm256_loadu_ps(pk + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * lda + k);
      c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(s + r * lds, c0[r]);
    _mm256_storeu_ps(s + r * lds + 8, c1[r]);
  }
}

void tile16_avx2(int K, const float* a, ptrdiff_t lda, int mr, const float* p, ptrdiff_t ldp,
                 float* s, ptrdiff_t lds) {
  switch (mr) {
    case 1: tile16_mr<1>(K, a, lda, p, ldp, s, lds); break;
    case 2: tile16_mr<2>(K, a, lda, p, ldp, s, lds); break;
    case 3: tile16_mr<3>(K, a, lda, p, ldp, s, lds); break;
    case 4: tile16_mr<4>(K, a, lda, p, ldp, s, lds); break;
    case 5: tile16_mr<5>(K, a, lda, p, ldp, s, lds); break;
    default: tile16_mr<6>(K, a, lda, p, ldp, s, lds); break;
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Four rows at a time against x, two accumulators per row.
void dot_rows_avx2(int rows, int K, const float* m, ptrdiff_t ldm, const float* x, float* y) {
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float* m0 = m + i * ldm;
    const float* m1 = m0 + ldm;
    const float* m2 = m1 + ldm;
    const float* m3 = m2 + ldm;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(m0 + k), x0, s0);
      s1 = _mm256_fmadd_ps(_mm256_loadu_ps(m1 + k), x0, s1);
      s2 = _mm256_fmadd_ps(_mm256_loadu_ps(m2 + k), x0, s2);
      s3 = _mm256_fmadd_ps(_mm256_loadu_ps(m3 + k), x0, s3);
      t0 = _mm256_fmadd_ps(_mm256_loadu_ps(m0 + k + 8), x1, t0);
      t1 = _mm256_fmadd_ps(_mm256_loadu_ps(m1 + k + 8), x1, t1);
      t2 = _mm256_fmadd_ps(_mm256_loadu_ps(m2 + k + 8), x1, t2);
      t3 = _mm256_fmadd_ps(_mm256_loadu_ps(m3 + k + 8), x1, t3);
    }
    for (; k + 8 <= K; k += 8) {
      const __m256 x0 = _mm256_loadu_ps(x + k);
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(m0 + k), x0, s0);
      s1 = _mm256_fmadd_ps(_mm256_loadu_ps(m1 + k), x0, s1);
      s2 = _mm256_fmadd_ps(_mm256_loadu_ps(m2 + k), x0, s2);
      s3 = _mm256_fmadd_ps(_mm256_loadu_ps(m3 + k), x0, s3);
    }
    float d0 = hsum(_mm256_add_ps(s0, t0)), d1 = hsum(_mm256_add_ps(s1, t1));
    float d2 = hsum(_mm256_add_ps(s2, t2)), d3 = hsum(_mm256_add_ps(s3, t3));
    for (; k < K; ++k) {
      d0 += m0[k] * x[k];
      d1 += m1[k] * x[k];
      d2 += m2[k] * x[k];
      d3 += m3[k] * x[k];
    }
    y[i] = d0;
    y[i + 1] = d1;
    y[i + 2] = d2;
    y[i + 3] = d3;
  }
  for (; i < rows; ++i) {
    const float* mi = m + i * ldm;
    __m256 s0 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(mi + k), _mm256_loadu_ps(x + k), s0);
    float d = hsum(s0);
    for (; k < K; ++k) d += mi[k] * x[k];
    y[i] = d;
  }
}

}  // namespace

const RecKernels rec_kernels_avx2 = {"avx2", &tile16_avx2, &dot_rows_avx2};

}  // namespace rec
}  // namespace lstm

#endif  // LSTM_NATIVE_X86
