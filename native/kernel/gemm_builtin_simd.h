// SIMD bodies of the built-in GEMM, written once over a vector-traits type V and instantiated by
// gemm_builtin_avx2.cc (V = __m256 / __m256d) and gemm_builtin_avx512.cc (__m512 / __m512d), each
// compiled with its own -m flags. Only those files include this header.
//
// Everything here sits in an unnamed namespace: each including file gets its own copies, compiled
// with its own flags. (An inline function or template instantiation shared between files built with
// different -m flags could be merged by the linker into the AVX-512 copy and then run on a CPU
// without AVX-512.) For the same reason nothing here calls into the C++ standard library.
//
// V provides: F (scalar type), T (vector type), W (lanes), zero(), load() (aligned), loadu(),
// storeu(), set1(), bcast() (broadcast from memory), fma(a, b, c) = a*b + c, mul(), add(), hsum().
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "gemm_builtin.h"

namespace lstm {
namespace gemm_detail {
namespace {

// ---- micro-kernel ---------------------------------------------------------------------------------
// C[0:R, 0:nr] = alpha * A_panel(MR x kc, rows 0..R-1 used) * B_panel(kc x 2W) + beta * C.
// The tile lives in R x 2 vector registers, spelled out as named variables: GCC keeps arrays of
// vectors in memory across the k loop. With fewer than 8 accumulators (R <= 3) the FMA latency
// would idle the pipes, so those tiles keep a second set (d*) for odd k and add them at the end.
#define LSTM_GEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

template <class V, int MR, int R>
void micro_kernel(int kc, const typename V::F* a, const typename V::F* b, typename V::F* c,
                  ptrdiff_t ldc, typename V::F alpha, typename V::F beta, int nr) {
  using F = typename V::F;
  using T = typename V::T;
  constexpr int W = V::W;
  constexpr int NR = 2 * W;
  constexpr bool kSplit = R <= 3;
  static_assert(R >= 1 && R <= 6 && R <= MR, "1 <= R <= min(MR, 6)");

  for (int r = 0; r < R; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }

#define LSTM_GEMM_DECL(r) T c##r##0 = V::zero(), c##r##1 = V::zero(); \
  T d##r##0 = V::zero(), d##r##1 = V::zero();
  LSTM_GEMM_ROWS(LSTM_GEMM_DECL)
#undef LSTM_GEMM_DECL
  (void)d00; (void)d01; (void)d10; (void)d11; (void)d20; (void)d21;
  (void)d30; (void)d31; (void)d40; (void)d41; (void)d50; (void)d51;

#define LSTM_GEMM_STEP(r)                                     \
  if constexpr (R > r) {                                      \
    const T av = V::bcast(a + r);                             \
    c##r##0 = V::fma(av, b0, c##r##0);                        \
    c##r##1 = V::fma(av, b1, c##r##1);                        \
  }
#define LSTM_GEMM_STEP2(r)                                    \
  if constexpr (R > r) {                                      \
    const T av = V::bcast(a + MR + r);                        \
    d##r##0 = V::fma(av, e0, d##r##0);                        \
    d##r##1 = V::fma(av, e1, d##r##1);                        \
  }
  int k = 0;
  if constexpr (kSplit) {
    for (; k + 2 <= kc; k += 2) {
      const T b0 = V::load(b), b1 = V::load(b + W);
      LSTM_GEMM_ROWS(LSTM_GEMM_STEP)
      const T e0 = V::load(b + NR), e1 = V::load(b + NR + W);
      LSTM_GEMM_ROWS(LSTM_GEMM_STEP2)
      a += 2 * MR;
      b += 2 * NR;
    }
  }
#pragma GCC unroll 4
  for (; k < kc; ++k) {
    const T b0 = V::load(b), b1 = V::load(b + W);
    LSTM_GEMM_ROWS(LSTM_GEMM_STEP)
    a += MR;
    b += NR;
  }
#undef LSTM_GEMM_STEP
#undef LSTM_GEMM_STEP2
  if constexpr (kSplit) {
#define LSTM_GEMM_MERGE(r)                                    \
  if constexpr (R > r) {                                      \
    c##r##0 = V::add(c##r##0, d##r##0);                       \
    c##r##1 = V::add(c##r##1, d##r##1);                       \
  }
    LSTM_GEMM_ROWS(LSTM_GEMM_MERGE)
#undef LSTM_GEMM_MERGE
  }

  const T va = V::set1(alpha);
  if (nr == NR) {
    if (beta == F(0)) {
#define LSTM_GEMM_STORE0(r)                                   \
  if constexpr (R > r) {                                      \
    V::storeu(c + r * ldc, V::mul(c##r##0, va));              \
    V::storeu(c + r * ldc + W, V::mul(c##r##1, va));          \
  }
      LSTM_GEMM_ROWS(LSTM_GEMM_STORE0)
#undef LSTM_GEMM_STORE0
    } else {
      const T vb = V::set1(beta);
#define LSTM_GEMM_STORE(r)                                                             \
  if constexpr (R > r) {                                                               \
    V::storeu(c + r * ldc, V::fma(vb, V::loadu(c + r * ldc), V::mul(c##r##0, va)));    \
    V::storeu(c + r * ldc + W, V::fma(vb, V::loadu(c + r * ldc + W), V::mul(c##r##1, va))); \
  }
      LSTM_GEMM_ROWS(LSTM_GEMM_STORE)
#undef LSTM_GEMM_STORE
    }
    return;
  }
  // Right edge: only nr < NR columns exist in C.
  alignas(64) F tmp[R * NR];
#define LSTM_GEMM_SPILL(r)                                    \
  if constexpr (R > r) {                                      \
    V::storeu(tmp + r * NR, V::mul(c##r##0, va));             \
    V::storeu(tmp + r * NR + W, V::mul(c##r##1, va));         \
  }
  LSTM_GEMM_ROWS(LSTM_GEMM_SPILL)
#undef LSTM_GEMM_SPILL
  for (int r = 0; r < R; ++r) {
    F* p = c + r * ldc;
    const F* t = tmp + r * NR;
    if (beta == F(0)) {
      for (int j = 0; j < nr; ++j) p[j] = t[j];
    } else {
      for (int j = 0; j < nr; ++j) p[j] = t[j] + beta * p[j];
    }
  }
}
#undef LSTM_GEMM_ROWS

// micro[r] for r = 1..6 of an MR = 6, NR = 2W kernel.
template <class V>
void fill_micro_6(Kernels<typename V::F>* k) {
  k->micro[1] = micro_kernel<V, 6, 1>;
  k->micro[2] = micro_kernel<V, 6, 2>;
  k->micro[3] = micro_kernel<V, 6, 3>;
  k->micro[4] = micro_kernel<V, 6, 4>;
  k->micro[5] = micro_kernel<V, 6, 5>;
  k->micro[6] = micro_kernel<V, 6, 6>;
}

// ---- B packing for float with 8x8 AVX transposes ------------------------------------------------
// Used by both files (the AVX-512 one is compiled with -mavx2 too). op(B) = B^T is the LSTM's
// x W^T case: NR rows of W, each contiguous in k, become kc rows of NR floats.
inline void transpose8x8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5,
                         __m256& r6, __m256& r7) {
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Packs columns [j0, j0 + ncols) of op(B), k in [p0, p0 + kc), into ceil(ncols / NR) consecutive
// micro-panels of kc * NR floats; the last one is zero-padded.
template <int NR>
void pack_b_f32(Trans tb, const float* B, ptrdiff_t ldb, int p0, int kc, int j0, int ncols,
                float* dst) {
  static_assert(NR % 8 == 0, "NR must be a multiple of 8");
  const ptrdiff_t panel = static_cast<ptrdiff_t>(kc) * NR;
  if (tb == Trans::No) {
    // Rows of op(B) are rows of B. Four panels per sweep read 4 * NR contiguous floats of each row:
    // with one panel per sweep every row is a single cache line at a large stride (one page per
    // row when ldb = 1024), where hardware prefetchers give up and the loads alias in one L1 set;
    // packing a 256 x 1024 B took 4x longer that way.
    const float* src = B + static_cast<ptrdiff_t>(p0) * ldb + j0;
    int j = 0;
    for (; j + 4 * NR <= ncols; j += 4 * NR, dst += 4 * panel) {
      const float* s = src + j;
      for (int k = 0; k < kc; ++k, s += ldb) {
        for (int g = 0; g < 4; ++g)
          for (int v = 0; v < NR; v += 8)
            _mm256_store_ps(dst + g * panel + k * NR + v, _mm256_loadu_ps(s + g * NR + v));
      }
    }
    for (; j + NR <= ncols; j += NR, dst += panel) {
      const float* s = src + j;
      for (int k = 0; k < kc; ++k, s += ldb)
        for (int v = 0; v < NR; v += 8) _mm256_store_ps(dst + k * NR + v, _mm256_loadu_ps(s + v));
    }
    if (j < ncols) {
      const int nr = ncols - j;
      const float* s = src + j;
      for (int k = 0; k < kc; ++k, s += ldb) {
        int c = 0;
        for (; c < nr; ++c) dst[k * NR + c] = s[c];
        for (; c < NR; ++c) dst[k * NR + c] = 0.0f;
      }
    }
    return;
  }
  // op(B)[k][j] = B[j][k]: NR rows of B per panel, each contiguous in k, transposed 8 x 8 at a time.
  for (int j = 0; j < ncols; j += NR, dst += panel) {
    const int nr = ncols - j < NR ? ncols - j : NR;
    const float* src = B + static_cast<ptrdiff_t>(j0 + j) * ldb + p0;
    if (nr < NR) {
      for (int c = 0; c < NR; ++c) {
        float* d = dst + c;
        if (c < nr) {
          const float* s = src + static_cast<ptrdiff_t>(c) * ldb;
          for (int k = 0; k < kc; ++k) d[k * NR] = s[k];
        } else {
          for (int k = 0; k < kc; ++k) d[k * NR] = 0.0f;
        }
      }
      continue;
    }
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int g = 0; g < NR; g += 8) {
        const float* s = src + static_cast<ptrdiff_t>(g) * ldb + k;
        __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb);
        __m256 r2 = _mm256_loadu_ps(s + 2 * ldb), r3 = _mm256_loadu_ps(s + 3 * ldb);
        __m256 r4 = _mm256_loadu_ps(s + 4 * ldb), r5 = _mm256_loadu_ps(s + 5 * ldb);
        __m256 r6 = _mm256_loadu_ps(s + 6 * ldb), r7 = _mm256_loadu_ps(s + 7 * ldb);
        transpose8x8(r0, r1, r2, r3, r4, r5, r6, r7);
        float* d = dst + static_cast<ptrdiff_t>(k) * NR + g;
        _mm256_store_ps(d, r0);
        _mm256_store_ps(d + NR, r1);
        _mm256_store_ps(d + 2 * NR, r2);
        _mm256_store_ps(d + 3 * NR, r3);
        _mm256_store_ps(d + 4 * NR, r4);
        _mm256_store_ps(d + 5 * NR, r5);
        _mm256_store_ps(d + 6 * NR, r6);
        _mm256_store_ps(d + 7 * NR, r7);
      }
    }
    for (; k < kc; ++k)
      for (int c = 0; c < NR; ++c) dst[k * NR + c] = src[static_cast<ptrdiff_t>(c) * ldb + k];
  }
}

// ---- GEMV -----------------------------------------------------------------------------------------
// Dot form: rows of m against x, four rows at a time (x is loaded once per four rows).
template <class V>
void gemv_dot(int rows, int K, typename V::F alpha, const typename V::F* m, ptrdiff_t ldm,
              const typename V::F* x, typename V::F beta, typename V::F* y, ptrdiff_t incy) {
  using F = typename V::F;
  using T = typename V::T;
  constexpr int W = V::W;
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const F* m0 = m + static_cast<ptrdiff_t>(i) * ldm;
    const F* m1 = m0 + ldm;
    const F* m2 = m1 + ldm;
    const F* m3 = m2 + ldm;
    T s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
    T t0 = V::zero(), t1 = V::zero(), t2 = V::zero(), t3 = V::zero();
    int k = 0;
    for (; k + 2 * W <= K; k += 2 * W) {
      T x0 = V::loadu(x + k), x1 = V::loadu(x + k + W);
      s0 = V::fma(V::loadu(m0 + k), x0, s0);
      s1 = V::fma(V::loadu(m1 + k), x0, s1);
      s2 = V::fma(V::loadu(m2 + k), x0, s2);
      s3 = V::fma(V::loadu(m3 + k), x0, s3);
      t0 = V::fma(V::loadu(m0 + k + W), x1, t0);
      t1 = V::fma(V::loadu(m1 + k + W), x1, t1);
      t2 = V::fma(V::loadu(m2 + k + W), x1, t2);
      t3 = V::fma(V::loadu(m3 + k + W), x1, t3);
    }
    for (; k + W <= K; k += W) {
      T x0 = V::loadu(x + k);
      s0 = V::fma(V::loadu(m0 + k), x0, s0);
      s1 = V::fma(V::loadu(m1 + k), x0, s1);
      s2 = V::fma(V::loadu(m2 + k), x0, s2);
      s3 = V::fma(V::loadu(m3 + k), x0, s3);
    }
    F d[4] = {V::hsum(V::add(s0, t0)), V::hsum(V::add(s1, t1)), V::hsum(V::add(s2, t2)),
              V::hsum(V::add(s3, t3))};
    for (; k < K; ++k) {
      d[0] += m0[k] * x[k];
      d[1] += m1[k] * x[k];
      d[2] += m2[k] * x[k];
      d[3] += m3[k] * x[k];
    }
    for (int r = 0; r < 4; ++r) {
      F* yr = y + static_cast<ptrdiff_t>(i + r) * incy;
      *yr = beta == F(0) ? alpha * d[r] : alpha * d[r] + beta * *yr;
    }
  }
  for (; i < rows; ++i) {
    const F* m0 = m + static_cast<ptrdiff_t>(i) * ldm;
    T s0 = V::zero(), t0 = V::zero();
    int k = 0;
    for (; k + 2 * W <= K; k += 2 * W) {
      s0 = V::fma(V::loadu(m0 + k), V::loadu(x + k), s0);
      t0 = V::fma(V::loadu(m0 + k + W), V::loadu(x + k + W), t0);
    }
    for (; k + W <= K; k += W) s0 = V::fma(V::loadu(m0 + k), V::loadu(x + k), s0);
    F d = V::hsum(V::add(s0, t0));
    for (; k < K; ++k) d += m0[k] * x[k];
    F* yr = y + static_cast<ptrdiff_t>(i) * incy;
    *yr = beta == F(0) ? alpha * d : alpha * d + beta * *yr;
  }
}

// Axpy form: y (a block of 4 vectors) += x[k] * row k of m, over all k; two sets of accumulators
// over even/odd k hide the FMA latency.
template <class V>
void gemv_axpy(int K, int cols, typename V::F alpha, const typename V::F* m, ptrdiff_t ldm,
               const typename V::F* x, typename V::F beta, typename V::F* y) {
  using F = typename V::F;
  using T = typename V::T;
  constexpr int W = V::W;
  const T va = V::set1(alpha), vb = V::set1(beta);
  int j = 0;
  for (; j + 4 * W <= cols; j += 4 * W) {
    T s[4], t[4];
    for (int v = 0; v < 4; ++v) s[v] = t[v] = V::zero();
    const F* p = m + j;
    int k = 0;
    for (; k + 2 <= K; k += 2, p += 2 * ldm) {
      T x0 = V::bcast(x + k), x1 = V::bcast(x + k + 1);
      for (int v = 0; v < 4; ++v) s[v] = V::fma(x0, V::loadu(p + v * W), s[v]);
      for (int v = 0; v < 4; ++v) t[v] = V::fma(x1, V::loadu(p + ldm + v * W), t[v]);
    }
    if (k < K) {
      T x0 = V::bcast(x + k);
      for (int v = 0; v < 4; ++v) s[v] = V::fma(x0, V::loadu(p + v * W), s[v]);
    }
    for (int v = 0; v < 4; ++v) {
      T r = V::mul(V::add(s[v], t[v]), va);
      if (beta != F(0)) r = V::fma(vb, V::loadu(y + j + v * W), r);
      V::storeu(y + j + v * W, r);
    }
  }
  for (; j + W <= cols; j += W) {
    T s = V::zero(), t = V::zero();
    const F* p = m + j;
    int k = 0;
    for (; k + 2 <= K; k += 2, p += 2 * ldm) {
      s = V::fma(V::bcast(x + k), V::loadu(p), s);
      t = V::fma(V::bcast(x + k + 1), V::loadu(p + ldm), t);
    }
    if (k < K) s = V::fma(V::bcast(x + k), V::loadu(p), s);
    T r = V::mul(V::add(s, t), va);
    if (beta != F(0)) r = V::fma(vb, V::loadu(y + j), r);
    V::storeu(y + j, r);
  }
  for (; j < cols; ++j) {
    F d = F(0);
    const F* p = m + j;
    for (int k = 0; k < K; ++k) d += x[k] * p[static_cast<ptrdiff_t>(k) * ldm];
    y[j] = beta == F(0) ? alpha * d : alpha * d + beta * y[j];
  }
}

}  // namespace
}  // namespace gemm_detail
}  // namespace lstm
