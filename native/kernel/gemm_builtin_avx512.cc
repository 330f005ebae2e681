// AVX-512F kernels of the built-in GEMM (compiled with -mavx512f -mavx512dq -mavx2 -mfma; chosen at
// run time by gemm_isa_table.cc when active_isa() is avx512). The same templates as the AVX2 file with
// 512-bit vectors:
//   float : 6x32 micro-kernel (12 zmm accumulators), the AVX2 8x8-transpose B packing (NR = 32),
//           GEMV over zmm.
//   double: 6x16 micro-kernel.
// NOT run on hardware by its author (the development machine has no AVX-512): it is a mechanical
// mirror of the AVX2 file, and the tests exercise it only on an AVX-512 CPU.
#include <immintrin.h>

#include "gemm_builtin.h"
#include "gemm_builtin_simd.h"

namespace lstm {
namespace gemm_detail {
namespace {

struct Avx512F32 {
  using F = float;
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const F* p) { return _mm512_load_ps(p); }
  static T loadu(const F* p) { return _mm512_loadu_ps(p); }
  static void storeu(F* p, T v) { _mm512_storeu_ps(p, v); }
  static T set1(F x) { return _mm512_set1_ps(x); }
  static T bcast(const F* p) { return _mm512_set1_ps(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  // Through memory: GCC 12's _mm512_reduce_add_ps trips -Wmaybe-uninitialized; this runs once
  // per output row, so the round trip costs nothing measurable.
  static F hsum(T v) {
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    __m256 s8 = _mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

struct Avx512F64 {
  using F = double;
  using T = __m512d;
  static constexpr int W = 8;
  static T zero() { return _mm512_setzero_pd(); }
  static T load(const F* p) { return _mm512_load_pd(p); }
  static T loadu(const F* p) { return _mm512_loadu_pd(p); }
  static void storeu(F* p, T v) { _mm512_storeu_pd(p, v); }
  static T set1(F x) { return _mm512_set1_pd(x); }
  static T bcast(const F* p) { return _mm512_set1_pd(*p); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_pd(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_pd(a, b); }
  static T add(T a, T b) { return _mm512_add_pd(a, b); }
  static F hsum(T v) {
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    __m256d s4 = _mm256_add_pd(_mm256_load_pd(t), _mm256_load_pd(t + 4));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

}  // namespace

bool kernels_avx512(Kernels<float>* k) {
  k->name = "avx512";
  k->mr = 6;
  k->nr = 32;
  k->kc = 256;
  k->mc = 144;
  k->nc = 2048;
  fill_micro_6<Avx512F32>(k);
  k->pack_b = pack_b_f32<32>;
  k->gemv_dot = gemv_dot<Avx512F32>;
  k->gemv_axpy = gemv_axpy<Avx512F32>;
  return true;
}

bool kernels_avx512(Kernels<double>* k) {
  k->name = "avx512";
  k->mr = 6;
  k->nr = 16;
  k->kc = 256;
  k->mc = 96;
  k->nc = 2048;
  fill_micro_6<Avx512F64>(k);
  k->gemv_dot = gemv_dot<Avx512F64>;
  k->gemv_axpy = gemv_axpy<Avx512F64>;
  return true;
}

}  // namespace gemm_detail
}  // namespace lstm
