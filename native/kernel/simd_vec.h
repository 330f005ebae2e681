// Vector-traits types for the width-generic float32 kernels (vec_math_simd.h, step_kernels_simd.h):
//   Avx2Vec   __m256, 8 lanes          (files compiled with -mavx2 -mfma)
//   Emu16Vec  two __m256, 16 lanes     (the same files): runs the 16-lane code paths, register
//             tiles and two-rows-per-vector epilogues of Avx512Vec on an AVX2 CPU. Every
//             operation is the AVX2 operation on each half, so for each lane it computes exactly
//             what Avx2Vec computes; it exists to test the 16-lane code against the scalar oracle
//             on machines without AVX-512.
//   Avx512Vec __m512, 16 lanes         (files compiled with -mavx512f -mavx512dq -mavx2 -mfma)
// Each type exists only where its instructions are enabled (the __AVX2__ / __AVX512F__ guards), so
// the header can be included from any SIMD file.
//
// Contract of a traits type V: F = float; T the vector; M a lane mask from a compare; IV an int32
// vector; W lanes. Every operation is one IEEE operation per lane with the same rounding on every
// V (fma rounds once), so the generic code gives the same bits lane for lane on all three:
//   zero() set1(x) loadu(p) storeu(p, v) bcast(p) = set1(*p)
//   add sub mul div; fma(a, b, c) = a*b + c; fnma(a, b, c) = c - a*b
//   min(a, b) / max(a, b): x86 MINPS/MAXPS, the SECOND operand when either is NaN
//   and_ or_ andnot(a, b) = ~a & b (bitwise)
//   round_even(x): to the nearest integer, ties to even, no exception
//   cmp_ge(a, b) / cmp_lt(a, b): ordered, quiet; blend(m, f, t): t where m, else f
//   cvt_i(x): float -> int32, current rounding (nearest); srai1(n) = n >> 1 (arithmetic);
//   isub(a, b); exp_bits(n) = the float with bits (n + 127) << 23 (2^n for n in [-126, 127])
//   load_rows8(p, stride) / store_rows8(p, stride, v, n): the vector as W/8 groups of 8 lanes,
//     group q at p + q * stride (n groups stored, n <= W/8). The LSTM epilogues keep 8 units of a
//     gate per row, so a 16-lane vector holds two rows.
// Internal linkage only (unnamed namespace), intrinsics only: see gates_avx2.cc on why SIMD files
// must not emit shared inline symbols.
#pragma once

// GCC 12 warns inside its own avx512fintrin.h when AVX-512 is enabled: _mm512_undefined_ps() is
// written `__Y = __Y` (GCC bug 105593, fixed in GCC 13). The warning is about the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstddef>

namespace lstm {
namespace simd {
namespace {

#if defined(__AVX2__) && defined(__FMA__)
struct Avx2Vec {
  using F = float;
  using T = __m256;
  using M = __m256;
  using IV = __m256i;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T div(T a, T b) { return _mm256_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T fnma(T a, T b, T c) { return _mm256_fnmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T and_(T a, T b) { return _mm256_and_ps(a, b); }
  static T or_(T a, T b) { return _mm256_or_ps(a, b); }
  static T andnot(T a, T b) { return _mm256_andnot_ps(a, b); }
  static T round_even(T x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static M cmp_ge(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M cmp_lt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static T blend(M m, T f, T t) { return _mm256_blendv_ps(f, t, m); }
  static IV cvt_i(T x) { return _mm256_cvtps_epi32(x); }
  static IV srai1(IV n) { return _mm256_srai_epi32(n, 1); }
  static IV isub(IV a, IV b) { return _mm256_sub_epi32(a, b); }
  static T exp_bits(IV n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  }
  static T load_rows8(const float* p, ptrdiff_t) { return _mm256_loadu_ps(p); }
  static void store_rows8(float* p, ptrdiff_t, T v, int) { _mm256_storeu_ps(p, v); }
};

struct Emu16Vec {
  using F = float;
  struct T {
    __m256 lo, hi;
  };
  using M = T;
  struct IV {
    __m256i lo, hi;
  };
  static constexpr int W = 16;
  static T zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static T set1(float x) { return {_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
  static T loadu(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static void storeu(float* p, T v) {
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
  }
  static T bcast(const float* p) { return {_mm256_broadcast_ss(p), _mm256_broadcast_ss(p)}; }
#define LSTM_EMU16_BINARY(name, op) \
  static T name(T a, T b) { return {op(a.lo, b.lo), op(a.hi, b.hi)}; }
  LSTM_EMU16_BINARY(add, _mm256_add_ps)
  LSTM_EMU16_BINARY(sub, _mm256_sub_ps)
  LSTM_EMU16_BINARY(mul, _mm256_mul_ps)
  LSTM_EMU16_BINARY(div, _mm256_div_ps)
  LSTM_EMU16_BINARY(min, _mm256_min_ps)
  LSTM_EMU16_BINARY(max, _mm256_max_ps)
  LSTM_EMU16_BINARY(and_, _mm256_and_ps)
  LSTM_EMU16_BINARY(or_, _mm256_or_ps)
  LSTM_EMU16_BINARY(andnot, _mm256_andnot_ps)
#undef LSTM_EMU16_BINARY
  static T fma(T a, T b, T c) {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
  static T fnma(T a, T b, T c) {
    return {_mm256_fnmadd_ps(a.lo, b.lo, c.lo), _mm256_fnmadd_ps(a.hi, b.hi, c.hi)};
  }
  static T round_even(T x) {
    return {_mm256_round_ps(x.lo, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
            _mm256_round_ps(x.hi, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
  }
  static M cmp_ge(T a, T b) {
    return {_mm256_cmp_ps(a.lo, b.lo, _CMP_GE_OQ), _mm256_cmp_ps(a.hi, b.hi, _CMP_GE_OQ)};
  }
  static M cmp_lt(T a, T b) {
    return {_mm256_cmp_ps(a.lo, b.lo, _CMP_LT_OQ), _mm256_cmp_ps(a.hi, b.hi, _CMP_LT_OQ)};
  }
  static T blend(M m, T f, T t) {
    return {_mm256_blendv_ps(f.lo, t.lo, m.lo), _mm256_blendv_ps(f.hi, t.hi, m.hi)};
  }
  static IV cvt_i(T x) { return {_mm256_cvtps_epi32(x.lo), _mm256_cvtps_epi32(x.hi)}; }
  static IV srai1(IV n) { return {_mm256_srai_epi32(n.lo, 1), _mm256_srai_epi32(n.hi, 1)}; }
  static IV isub(IV a, IV b) { return {_mm256_sub_epi32(a.lo, b.lo), _mm256_sub_epi32(a.hi, b.hi)}; }
  static T exp_bits(IV n) {
    const __m256i bias = _mm256_set1_epi32(127);
    return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n.lo, bias), 23)),
            _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n.hi, bias), 23))};
  }
  static T load_rows8(const float* p, ptrdiff_t stride) {
    return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + stride)};
  }
  static void store_rows8(float* p, ptrdiff_t stride, T v, int n) {
    _mm256_storeu_ps(p, v.lo);
    if (n > 1) _mm256_storeu_ps(p + stride, v.hi);
  }
};
#endif  // __AVX2__ && __FMA__

#if defined(__AVX512F__) && defined(__AVX512DQ__)
struct Avx512Vec {
  using F = float;
  using T = __m512;
  using M = __mmask16;
  using IV = __m512i;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T fnma(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T and_(T a, T b) { return _mm512_and_ps(a, b); }
  static T or_(T a, T b) { return _mm512_or_ps(a, b); }
  static T andnot(T a, T b) { return _mm512_andnot_ps(a, b); }
  static T round_even(T x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static M cmp_ge(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M cmp_lt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static T blend(M m, T f, T t) { return _mm512_mask_blend_ps(m, f, t); }
  static IV cvt_i(T x) { return _mm512_cvtps_epi32(x); }
  static IV srai1(IV n) { return _mm512_srai_epi32(n, 1); }
  static IV isub(IV a, IV b) { return _mm512_sub_epi32(a, b); }
  static T exp_bits(IV n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
  }
  static T load_rows8(const float* p, ptrdiff_t stride) {
    const __m512 lo = _mm512_castps256_ps512(_mm256_loadu_ps(p));
    return _mm512_insertf32x8(lo, _mm256_loadu_ps(p + stride), 1);
  }
  static void store_rows8(float* p, ptrdiff_t stride, T v, int n) {
    _mm256_storeu_ps(p, _mm512_castps512_ps256(v));
    if (n > 1) _mm256_storeu_ps(p + stride, _mm512_extractf32x8_ps(v, 1));
  }
};
#endif  // __AVX512F__ && __AVX512DQ__

}  // namespace
}  // namespace simd
}  // namespace lstm
