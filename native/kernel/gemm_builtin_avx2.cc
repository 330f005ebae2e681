// AVX2 + FMA kernels of the built-in GEMM (compiled with -mavx2 -mfma; chosen at run time by
// gemm_isa_table.cc when active_isa() is avx2 or better).
//   float : 6x16 micro-kernel (12 ymm accumulators + 2 B vectors + 1 broadcast = 15 registers),
//           8x8-transpose B packing, 4-row dot / 4-vector axpy GEMV.
//   double: 6x8 micro-kernel with the same code (4 doubles per ymm); portable packing.
// Blocking for Zen 3 / Haswell-class cores (32 KB L1d, 512 KB-1 MB L2): the B micro-panel
// (kc x 16 floats = 20 KB at kc = 320) stays in L1, the A block (mc x kc) in L2.
#include <immintrin.h>

#include "gemm_builtin.h"
#include "gemm_builtin_simd.h"

namespace lstm {
namespace gemm_detail {
namespace {

struct Avx2F32 {
  using F = float;
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const F* p) { return _mm256_load_ps(p); }
  static T loadu(const F* p) { return _mm256_loadu_ps(p); }
  static void storeu(F* p, T v) { _mm256_storeu_ps(p, v); }
  static T set1(F x) { return _mm256_set1_ps(x); }
  static T bcast(const F* p) { return _mm256_broadcast_ss(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static F hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

struct Avx2F64 {
  using F = double;
  using T = __m256d;
  static constexpr int W = 4;
  static T zero() { return _mm256_setzero_pd(); }
  static T load(const F* p) { return _mm256_load_pd(p); }
  static T loadu(const F* p) { return _mm256_loadu_pd(p); }
  static void storeu(F* p, T v) { _mm256_storeu_pd(p, v); }
  static T set1(F x) { return _mm256_set1_pd(x); }
  static T bcast(const F* p) { return _mm256_broadcast_sd(p); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_pd(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_pd(a, b); }
  static T add(T a, T b) { return _mm256_add_pd(a, b); }
  static F hsum(T v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

}  // namespace

bool kernels_avx2(Kernels<float>* k) {
  k->name = "avx2";
  k->mr = 6;
  k->nr = 16;
  k->kc = 320;
  k->mc = 144;
  k->nc = 2048;
  fill_micro_6<Avx2F32>(k);
  k->pack_b = pack_b_f32<16>;
  k->gemv_dot = gemv_dot<Avx2F32>;
  k->gemv_axpy = gemv_axpy<Avx2F32>;
  return true;
}

bool kernels_avx2(Kernels<double>* k) {
  k->name = "avx2";
  k->mr = 6;
  k->nr = 8;
  k->kc = 256;
  k->mc = 96;
  k->nc = 2048;
  fill_micro_6<Avx2F64>(k);
  k->gemv_dot = gemv_dot<Avx2F64>;
  k->gemv_axpy = gemv_axpy<Avx2F64>;
  return true;
}

}  // namespace gemm_detail
}  // namespace lstm
