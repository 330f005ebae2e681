// The vector math of the LSTM's float32 kernels, written once over a traits type V (simd_vec.h):
// exp, sigmoid and tanh accurate to a few ulp over the whole float range (bounds measured in
// test/native/gates.test.ts), and the LSTM cell of gates.h. vec_math_avx2.h instantiates it for
// __m256 (gates_avx2.cc and the AVX2 step epilogues), step_kernels_avx512.cc for __m512 and
// step_kernels_emu512_avx2.cc for two __m256: the same operations in the same order on every V,
// so every lane gets the same bits on every ISA (gates_avx512.cc spells the same formulas out).
//
// Include only from SIMD files; internal linkage, intrinsics only (see simd_vec.h).
#pragma once

#include "simd_vec.h"

namespace lstm {
namespace vm {
namespace {

template <class V>
inline typename V::T sign_bits(typename V::T x) { return V::and_(x, V::set1(-0.0f)); }
template <class V>
inline typename V::T abs_v(typename V::T x) { return V::andnot(V::set1(-0.0f), x); }

// exp(r) for |r| <= ln2/2 after x = n ln2 + r: n = round(x / ln2) (as a float) and r. ln2_hi has
// 16 significant bits, so n * ln2_hi is exact and the first reduction step loses nothing; ln2_lo
// carries the rest of ln2. The polynomial: minimax coefficients (SLEEF expf) evaluated by Horner
// down to the constant term, so the last step is one fused 1 + r*p with a single rounding.
template <class V>
inline typename V::T exp_reduce(typename V::T x, typename V::T* n_out) {
  using T = typename V::T;
  const T n = V::round_even(V::mul(x, V::set1(1.44269504088896341f)));
  T r = V::fnma(n, V::set1(0.693145751953125f), x);
  r = V::fnma(n, V::set1(1.428606765330187045e-6f), r);
  T p = V::set1(1.98527617612853646278381e-4f);
  p = V::fma(p, r, V::set1(1.39304355252534151077271e-3f));
  p = V::fma(p, r, V::set1(8.33336077630519866943359e-3f));
  p = V::fma(p, r, V::set1(4.16664853692054748535156e-2f));
  p = V::fma(p, r, V::set1(1.66666671633720397949219e-1f));
  p = V::fma(p, r, V::set1(0.5f));
  p = V::fma(p, r, V::set1(1.0f));
  p = V::fma(p, r, V::set1(1.0f));
  *n_out = n;
  return p;
}

// p * 2^n for integral n in [-150, 128], as two factors 2^(n>>1) * 2^(n - (n>>1)), both normal:
// p * first is exact, and the second multiply rounds once, which gives correctly rounded overflow
// to +inf and gradual underflow to denormals instead of a garbage exponent. (For NaN, n is
// garbage but p is NaN.)
template <class V>
inline typename V::T scale_two_factor(typename V::T p, typename V::T n) {
  const typename V::IV ni = V::cvt_i(n);
  const typename V::IV na = V::srai1(ni);
  const typename V::IV nb = V::isub(ni, na);
  return V::mul(V::mul(p, V::exp_bits(na)), V::exp_bits(nb));
}

// exp(x) for x <= 0 (and NaN): gradual underflow to denormals, 0 below ~-103.97. The sigmoid's
// exp(-|x|), which never needs the upper clamp of a full exp.
template <class V>
inline typename V::T exp_nonpos(typename V::T x) {
  // Clamp to -104: the result is already 0 there, and n below stays in [-150, 0], the range the
  // two-factor scale handles. MAXPS returns its SECOND operand when either is NaN, so x goes
  // second to let NaN through.
  x = V::max(V::set1(-104.0f), x);
  typename V::T n;
  const typename V::T p = exp_reduce<V>(x, &n);
  return scale_two_factor<V>(p, n);
}

// exp(x) for 0 <= x <= 20 (and NaN): n is in [0, 29], so 2^n is one normal factor and p * 2^n is
// exact, the same bits as the two-factor scale. tanh's exp(2|x|) with |x| clamped to 10, where
// tanh is already exactly 1 in float.
template <class V>
inline typename V::T exp_small(typename V::T x) {
  typename V::T n;
  const typename V::T p = exp_reduce<V>(x, &n);
  return V::mul(p, V::exp_bits(V::cvt_i(n)));
}

// exp(x) for every float: +inf above ~88.72, gradual underflow to denormals, 0 below ~-103.97,
// NaN for NaN.
template <class V>
inline typename V::T exp_v(typename V::T x) {
  // Clamp to [-104, 89]: the result is already 0 / +inf at both ends, and n below stays in
  // [-150, 128], the range the two-factor scale handles (NaN goes second: see exp_nonpos).
  x = V::min(V::set1(89.0f), x);
  x = V::max(V::set1(-104.0f), x);
  typename V::T n;
  const typename V::T p = exp_reduce<V>(x, &n);
  return scale_two_factor<V>(p, n);
}

// sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, with e = exp(-|x|) in (0, 1]: exp never
// overflows, both signs keep full relative precision, and the division is a true one (an rcp
// estimate would cost ~11 bits). NaN fails x >= 0 and e is NaN.
template <class V>
inline typename V::T sigmoid_v(typename V::T x) {
  using T = typename V::T;
  const T e = exp_nonpos<V>(V::or_(abs_v<V>(x), V::set1(-0.0f)));
  const T num = V::blend(V::cmp_ge(x, V::zero()), e, V::set1(1.0f));
  return V::div(num, V::add(V::set1(1.0f), e));
}

// tanh after Cephes tanhf, on |x| with the sign restored at the end (tanh is odd; this also keeps
// tanh(-0) = -0). For |x| < 0.625 an odd polynomial keeps the relative error small near 0, where
// 1 - 2/(exp(2|x|)+1) would cancel. Above, the exp's argument is clamped to 20 (|x| = 10): from
// |x| ~ 9 on, 2/(exp(2|x|)+1) < 2^-25 and the expression is exactly 1 in float, clamped or not, and
// the clamped exp needs no overflow handling. NaN: MINPS passes its second operand, the compare is
// false, the exp branch gives NaN.
template <class V>
inline typename V::T tanh_v(typename V::T x) {
  using T = typename V::T;
  const T ax = abs_v<V>(x);
  const T z = V::mul(ax, ax);
  T p = V::set1(-5.70498872745e-3f);
  p = V::fma(p, z, V::set1(2.06390887954e-2f));
  p = V::fma(p, z, V::set1(-5.37397155531e-2f));
  p = V::fma(p, z, V::set1(1.33314422036e-1f));
  p = V::fma(p, z, V::set1(-3.33332819422e-1f));
  const T small = V::fma(V::mul(p, z), ax, ax);
  const T e = exp_small<V>(V::min(V::set1(20.0f), V::add(ax, ax)));
  const T large = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(e, V::set1(1.0f))));
  const T t = V::blend(V::cmp_lt(ax, V::set1(0.625f)), large, small);
  return V::or_(t, sign_bits<V>(x));
}

// The LSTM cell of gates.h. Forward up to c: i, f, o = sigmoid, g = tanh of the pre-activations,
// c = f * c_prev + i * g (the caller takes tanh(c) and h = o * tanh(c) when it wants them).
template <class V>
struct CellGates {
  typename V::T i, f, g, o, c;
};
template <class V>
inline CellGates<V> cell_gates(typename V::T ai, typename V::T af, typename V::T ag,
                               typename V::T ao, typename V::T c_prev) {
  CellGates<V> r;
  r.i = sigmoid_v<V>(ai);
  r.f = sigmoid_v<V>(af);
  r.g = tanh_v<V>(ag);
  r.o = sigmoid_v<V>(ao);
  r.c = V::fma(r.f, c_prev, V::mul(r.i, r.g));
  return r;
}

// Backward from the kept gates i, f, g, o, tanh(c) t, c_prev, and the incoming dh, dc: the
// pre-activation gradients and dc for the previous step.
template <class V>
struct CellGrads {
  typename V::T di, df, dg, d_o, dc_prev;
};
template <class V>
inline CellGrads<V> cell_backward(typename V::T i, typename V::T f, typename V::T g,
                                  typename V::T o, typename V::T t, typename V::T cp,
                                  typename V::T dh, typename V::T dc) {
  using T = typename V::T;
  const T one = V::set1(1.0f);
  const T dho = V::mul(dh, o);
  const T dc_tot = V::fma(dho, V::fnma(t, t, one), dc);
  CellGrads<V> r;
  r.di = V::mul(V::mul(dc_tot, g), V::mul(i, V::sub(one, i)));
  r.df = V::mul(V::mul(dc_tot, cp), V::mul(f, V::sub(one, f)));
  r.dg = V::mul(V::mul(dc_tot, i), V::fnma(g, g, one));
  r.d_o = V::mul(V::mul(dho, t), V::sub(one, o));
  r.dc_prev = V::mul(dc_tot, f);
  return r;
}

}  // namespace
}  // namespace vm
}  // namespace lstm
