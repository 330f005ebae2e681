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

// ---- The fused forward epilogue (GatesFwd8Fn). The activations are copies of gates_avx2.cc's
// (kept identical so both paths give the same bits; that file's functions have internal linkage).
inline __m256 splat(float v) { return _mm256_set1_ps(v); }

inline __m256 sign_bits(__m256 x) { return _mm256_and_ps(x, splat(-0.0f)); }
inline __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(splat(-0.0f), x); }

// exp(x) for every float: +inf above ~88.72, gradual underflow to denormals, 0 below ~-103.97,
// NaN for NaN.
inline __m256 exp_ps(__m256 x) {
  // Clamp to [-104, 89]: the result is already 0 / +inf at both ends, and n below stays in
  // [-150, 128], the range the two-factor scale handles. MINPS/MAXPS return their SECOND operand
  // when either is NaN, so x goes second to let NaN through.
  x = _mm256_min_ps(splat(89.0f), x);
  x = _mm256_max_ps(splat(-104.0f), x);
  // x = n ln2 + r, |r| <= ln2/2. ln2_hi has 16 significant bits, so n * ln2_hi is exact and the
  // first reduction step loses nothing; ln2_lo carries the rest of ln2.
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, splat(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, splat(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, splat(1.428606765330187045e-6f), r);
  // exp(r) = 1 + r + r^2/2 + ..., minimax coefficients (SLEEF expf) evaluated by Horner down to
  // the constant term, so the last step is one fused 1 + r*p with a single rounding.
  __m256 p = splat(1.98527617612853646278381e-4f);
  p = _mm256_fmadd_ps(p, r, splat(1.39304355252534151077271e-3f));
  p = _mm256_fmadd_ps(p, r, splat(8.33336077630519866943359e-3f));
  p = _mm256_fmadd_ps(p, r, splat(4.16664853692054748535156e-2f));
  p = _mm256_fmadd_ps(p, r, splat(1.66666671633720397949219e-1f));
  p = _mm256_fmadd_ps(p, r, splat(0.5f));
  p = _mm256_fmadd_ps(p, r, splat(1.0f));
  p = _mm256_fmadd_ps(p, r, splat(1.0f));
  // 2^n as two factors 2^(n>>1) * 2^(n - (n>>1)), both normal for n in [-150, 128]: p * first is
  // exact, and the second multiply rounds once, which gives correctly rounded overflow to +inf and
  // gradual underflow instead of a garbage exponent. (For NaN, n is garbage but p is NaN.)
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i na = _mm256_srai_epi32(ni, 1);
  const __m256i nb = _mm256_sub_epi32(ni, na);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 sa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(na, bias), 23));
  const __m256 sb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nb, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, sa), sb);
}

// sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, with e = exp(-|x|) in (0, 1]: exp never
// overflows, both signs keep full relative precision, and the division is a true one (an rcp
// estimate would cost ~11 bits). NaN fails x >= 0 and e is NaN.
inline __m256 sigmoid_ps(__m256 x) {
  const __m256 e = exp_ps(_mm256_or_ps(abs_ps(x), splat(-0.0f)));
  const __m256 num = _mm256_blendv_ps(e, splat(1.0f), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(splat(1.0f), e));
}

// tanh after Cephes tanhf, on |x| with the sign restored at the end (tanh is odd; this also keeps
// tanh(-0) = -0). For |x| < 0.625 an odd polynomial keeps the relative error small near 0, where
// 1 - 2/(exp(2|x|)+1) would cancel. Above, exp(2|x|) reaches +inf for |x| > ~44 and the
// expression saturates to exactly 1 (it is already 1 in float beyond |x| ~ 9). NaN: the compare is
// false, the exp branch gives NaN.
inline __m256 tanh_ps(__m256 x) {
  const __m256 ax = abs_ps(x);
  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = splat(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, splat(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, splat(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, splat(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, splat(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
  const __m256 e = exp_ps(_mm256_add_ps(ax, ax));
  const __m256 large = _mm256_sub_ps(splat(1.0f), _mm256_div_ps(splat(2.0f), _mm256_add_ps(e, splat(1.0f))));
  const __m256 t = _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, splat(0.625f), _CMP_LT_OQ));
  return _mm256_or_ps(t, sign_bits(x));
}

void gates_fwd8_avx2(int rows, const float* acc, float* G, ptrdiff_t ldg, int H,
                     const float* c_prev, float* c, float* tc, float* h, ptrdiff_t ldh, float* y,
                     ptrdiff_t ldy) {
  for (int r = 0; r < rows; ++r) {
    const float* s = acc + r * kFwdCols;
    float* Gr = G + r * ldg;
    const __m256 i = sigmoid_ps(_mm256_add_ps(_mm256_loadu_ps(Gr), _mm256_loadu_ps(s)));
    const __m256 f = sigmoid_ps(_mm256_add_ps(_mm256_loadu_ps(Gr + H), _mm256_loadu_ps(s + 8)));
    const __m256 g = tanh_ps(_mm256_add_ps(_mm256_loadu_ps(Gr + 2 * H), _mm256_loadu_ps(s + 16)));
    const __m256 o = sigmoid_ps(_mm256_add_ps(_mm256_loadu_ps(Gr + 3 * H), _mm256_loadu_ps(s + 24)));
    const ptrdiff_t rc = static_cast<ptrdiff_t>(r) * H;
    const __m256 cp = _mm256_loadu_ps(c_prev + rc);
    const __m256 cj = _mm256_fmadd_ps(f, cp, _mm256_mul_ps(i, g));
    const __m256 tcj = tanh_ps(cj);
    _mm256_storeu_ps(Gr, i);
    _mm256_storeu_ps(Gr + H, f);
    _mm256_storeu_ps(Gr + 2 * H, g);
    _mm256_storeu_ps(Gr + 3 * H, o);
    _mm256_storeu_ps(c + rc, cj);
    _mm256_storeu_ps(tc + rc, tcj);
    const __m256 hj = _mm256_mul_ps(o, tcj);
    _mm256_storeu_ps(h + r * ldh, hj);
    if (y) _mm256_storeu_ps(y + r * ldy, hj);
  }
}

void gates_bwd16_avx2(float* dh, const float* dy, const float* G, int H, const float* c_prev,
                      const float* tc, float* dc, float* dG) {
  const __m256 one = splat(1.0f);
  for (int j = 0; j < kBwdCols; j += 8) {
    __m256 dhj = _mm256_loadu_ps(dh + j);
    if (dy) {
      dhj = _mm256_add_ps(dhj, _mm256_loadu_ps(dy + j));
      _mm256_storeu_ps(dh + j, dhj);
    }
    const __m256 i = _mm256_loadu_ps(G + j);
    const __m256 f = _mm256_loadu_ps(G + H + j);
    const __m256 g = _mm256_loadu_ps(G + 2 * H + j);
    const __m256 o = _mm256_loadu_ps(G + 3 * H + j);
    const __m256 t = _mm256_loadu_ps(tc + j);
    const __m256 cp = _mm256_loadu_ps(c_prev + j);
    const __m256 dcj = _mm256_loadu_ps(dc + j);
    const __m256 dho = _mm256_mul_ps(dhj, o);
    const __m256 dc_tot = _mm256_fmadd_ps(dho, _mm256_fnmadd_ps(t, t, one), dcj);
    const __m256 di = _mm256_mul_ps(_mm256_mul_ps(dc_tot, g), _mm256_mul_ps(i, _mm256_sub_ps(one, i)));
    const __m256 df = _mm256_mul_ps(_mm256_mul_ps(dc_tot, cp), _mm256_mul_ps(f, _mm256_sub_ps(one, f)));
    const __m256 dg = _mm256_mul_ps(_mm256_mul_ps(dc_tot, i), _mm256_fnmadd_ps(g, g, one));
    const __m256 d_o = _mm256_mul_ps(_mm256_mul_ps(dho, t), _mm256_sub_ps(one, o));
    _mm256_storeu_ps(dG + j, di);
    _mm256_storeu_ps(dG + H + j, df);
    _mm256_storeu_ps(dG + 2 * H + j, dg);
    _mm256_storeu_ps(dG + 3 * H + j, d_o);
    _mm256_storeu_ps(dc + j, _mm256_mul_ps(dc_tot, f));
  }
}

}  // namespace

const RecKernels rec_kernels_avx2 = {"avx2", &tile16_avx2, &dot_rows_avx2, &gates_fwd8_avx2,
                                     &gates_bwd16_avx2};

}  // namespace rec
}  // namespace lstm

#endif  // LSTM_NATIVE_X86
