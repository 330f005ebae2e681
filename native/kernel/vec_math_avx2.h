// The AVX2+FMA vector math shared by the LSTM's float32 kernels (gates_avx2.cc and the fused
// step epilogue in lstm_recurrent_avx2.cc): exp, sigmoid and tanh accurate to a few ulp over the
// whole float range (bounds measured in test/native/gates.test.ts). One copy, so both paths give
// the same bits.
//
// Include only from files compiled with -mavx2 -mfma (*_avx2.cc). Everything here has internal
// linkage (an unnamed namespace, intrinsics only, no C++ library header), so no AVX code can leak
// into the rest of the program through the linker's choice of a weak symbol.
#pragma once

#include <immintrin.h>

namespace lstm {
namespace {

inline __m256 splat(float v) { return _mm256_set1_ps(v); }

inline __m256 sign_bits(__m256 x) { return _mm256_and_ps(x, splat(-0.0f)); }
inline __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(splat(-0.0f), x); }

// exp(r) for |r| <= ln2/2 after x = n ln2 + r: n = round(x / ln2) (as a float) and r. ln2_hi has
// 16 significant bits, so n * ln2_hi is exact and the first reduction step loses nothing; ln2_lo
// carries the rest of ln2. The polynomial: minimax coefficients (SLEEF expf) evaluated by Horner
// down to the constant term, so the last step is one fused 1 + r*p with a single rounding.
inline __m256 exp_reduce(__m256 x, __m256* n_out) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, splat(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, splat(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, splat(1.428606765330187045e-6f), r);
  __m256 p = splat(1.98527617612853646278381e-4f);
  p = _mm256_fmadd_ps(p, r, splat(1.39304355252534151077271e-3f));
  p = _mm256_fmadd_ps(p, r, splat(8.33336077630519866943359e-3f));
  p = _mm256_fmadd_ps(p, r, splat(4.16664853692054748535156e-2f));
  p = _mm256_fmadd_ps(p, r, splat(1.66666671633720397949219e-1f));
  p = _mm256_fmadd_ps(p, r, splat(0.5f));
  p = _mm256_fmadd_ps(p, r, splat(1.0f));
  p = _mm256_fmadd_ps(p, r, splat(1.0f));
  *n_out = n;
  return p;
}

// p * 2^n for integral n in [-150, 128], as two factors 2^(n>>1) * 2^(n - (n>>1)), both normal:
// p * first is exact, and the second multiply rounds once, which gives correctly rounded overflow
// to +inf and gradual underflow to denormals instead of a garbage exponent. (For NaN, n is
// garbage but p is NaN.)
inline __m256 scale_two_factor(__m256 p, __m256 n) {
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i na = _mm256_srai_epi32(ni, 1);
  const __m256i nb = _mm256_sub_epi32(ni, na);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 sa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(na, bias), 23));
  const __m256 sb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nb, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, sa), sb);
}

// exp(x) for x <= 0 (and NaN): gradual underflow to denormals, 0 below ~-103.97. The sigmoid's
// exp(-|x|), which never needs the upper clamp of a full exp.
inline __m256 exp_nonpos_ps(__m256 x) {
  // Clamp to -104: the result is already 0 there, and n below stays in [-150, 0], the range the
  // two-factor scale handles. MAXPS returns its SECOND operand when either is NaN, so x goes
  // second to let NaN through.
  x = _mm256_max_ps(splat(-104.0f), x);
  __m256 n;
  const __m256 p = exp_reduce(x, &n);
  return scale_two_factor(p, n);
}

// exp(x) for 0 <= x <= 20 (and NaN): n is in [0, 29], so 2^n is one normal factor and p * 2^n is
// exact, the same bits as the two-factor scale. tanh's exp(2|x|) with |x| clamped to 10, where
// tanh is already exactly 1 in float.
inline __m256 exp_small_ps(__m256 x) {
  __m256 n;
  const __m256 p = exp_reduce(x, &n);
  const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(e, 23)));
}

// exp(x) for every float: +inf above ~88.72, gradual underflow to denormals, 0 below ~-103.97,
// NaN for NaN.
inline __m256 exp_ps(__m256 x) {
  // Clamp to [-104, 89]: the result is already 0 / +inf at both ends, and n below stays in
  // [-150, 128], the range the two-factor scale handles (NaN goes second: see exp_nonpos_ps).
  x = _mm256_min_ps(splat(89.0f), x);
  x = _mm256_max_ps(splat(-104.0f), x);
  __m256 n;
  const __m256 p = exp_reduce(x, &n);
  return scale_two_factor(p, n);
}

// sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, with e = exp(-|x|) in (0, 1]: exp never
// overflows, both signs keep full relative precision, and the division is a true one (an rcp
// estimate would cost ~11 bits). NaN fails x >= 0 and e is NaN.
inline __m256 sigmoid_ps(__m256 x) {
  const __m256 e = exp_nonpos_ps(_mm256_or_ps(abs_ps(x), splat(-0.0f)));
  const __m256 num = _mm256_blendv_ps(e, splat(1.0f), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(splat(1.0f), e));
}

// tanh after Cephes tanhf, on |x| with the sign restored at the end (tanh is odd; this also keeps
// tanh(-0) = -0). For |x| < 0.625 an odd polynomial keeps the relative error small near 0, where
// 1 - 2/(exp(2|x|)+1) would cancel. Above, the exp's argument is clamped to 20 (|x| = 10): from
// |x| ~ 9 on, 2/(exp(2|x|)+1) < 2^-25 and the expression is exactly 1 in float, clamped or not, and
// the clamped exp needs no overflow handling. NaN: MINPS passes its second operand, the compare is
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
  const __m256 e = exp_small_ps(_mm256_min_ps(splat(20.0f), _mm256_add_ps(ax, ax)));
  const __m256 large = _mm256_sub_ps(splat(1.0f), _mm256_div_ps(splat(2.0f), _mm256_add_ps(e, splat(1.0f))));
  const __m256 t = _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, splat(0.625f), _CMP_LT_OQ));
  return _mm256_or_ps(t, sign_bits(x));
}

// The LSTM cell of gates.h on 8 lanes, shared by gates_avx2.cc and the fused step epilogues of
// lstm_recurrent_avx2.cc, so both give the same bits.
// Forward up to c: i, f, o = sigmoid, g = tanh of the pre-activations, c = f * c_prev + i * g
// (the caller takes tanh(c) and h = o * tanh(c) when it wants them).
struct CellGates {
  __m256 i, f, g, o, c;
};
inline CellGates cell_gates(__m256 ai, __m256 af, __m256 ag, __m256 ao, __m256 c_prev) {
  CellGates r;
  r.i = sigmoid_ps(ai);
  r.f = sigmoid_ps(af);
  r.g = tanh_ps(ag);
  r.o = sigmoid_ps(ao);
  r.c = _mm256_fmadd_ps(r.f, c_prev, _mm256_mul_ps(r.i, r.g));
  return r;
}

// Backward from the kept gates i, f, g, o, tanh(c) t, c_prev, and the incoming dh, dc: the
// pre-activation gradients and dc for the previous step.
struct CellGrads {
  __m256 di, df, dg, d_o, dc_prev;
};
inline CellGrads cell_backward(__m256 i, __m256 f, __m256 g, __m256 o, __m256 t, __m256 cp,
                               __m256 dh, __m256 dc) {
  const __m256 one = splat(1.0f);
  const __m256 dho = _mm256_mul_ps(dh, o);
  const __m256 dc_tot = _mm256_fmadd_ps(dho, _mm256_fnmadd_ps(t, t, one), dc);
  CellGrads r;
  r.di = _mm256_mul_ps(_mm256_mul_ps(dc_tot, g), _mm256_mul_ps(i, _mm256_sub_ps(one, i)));
  r.df = _mm256_mul_ps(_mm256_mul_ps(dc_tot, cp), _mm256_mul_ps(f, _mm256_sub_ps(one, f)));
  r.dg = _mm256_mul_ps(_mm256_mul_ps(dc_tot, i), _mm256_fnmadd_ps(g, g, one));
  r.d_o = _mm256_mul_ps(_mm256_mul_ps(dho, t), _mm256_sub_ps(one, o));
  r.dc_prev = _mm256_mul_ps(dc_tot, f);
  return r;
}

}  // namespace
}  // namespace lstm
