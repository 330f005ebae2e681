// AVX2+FMA kernels of the fast LSTM recurrent product (layouts in lstm_recurrent.h).
// Compiled with -mavx2 -mfma and used only after cpu_supports(Isa::Avx2) (rec_kernels()): internal
// linkage only, no C++ library header (see gates_avx2.cc). The table below is constant data.
#if defined(LSTM_NATIVE_X86)

#include <immintrin.h>

#include "lstm_recurrent.h"
#include "vec_math_avx2.h"

namespace lstm {
namespace rec {
namespace {

// Adds MR rows x 16 columns of a (rows of K) x p (K x 16, stride ldp) to the 2*MR ymm
// accumulators; with MR <= 2 the k loop is split over two accumulator sets so the FMA latency is
// hidden.
template <int MR>
__attribute__((always_inline)) inline void tile16_acc(int K, const float* a, ptrdiff_t lda,
                                                      const float* p, ptrdiff_t ldp, __m256 (&c0)[MR],
                                                      __m256 (&c1)[MR]) {
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
  // Unrolled: the loop branch and pointer updates otherwise take issue slots from the FMAs.
#pragma GCC unroll 4
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
}

template <int MR>
void tile16_mr(int K, const float* a, ptrdiff_t lda, const float* p, ptrdiff_t ldp, float* s,
               ptrdiff_t lds) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  tile16_acc<MR>(K, a, lda, p, ldp, c0, c1);
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(s + r * lds, c0[r]);
    _mm256_storeu_ps(s + r * lds + 8, c1[r]);
  }
}

template <int MR>
void tile16x2_mr(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2, const float* a2,
                 ptrdiff_t lda2, const float* p2, ptrdiff_t ldp, const float* bias, float* s,
                 ptrdiff_t lds) {
  __m256 c0[MR], c1[MR];
  const __m256 bb0 = _mm256_loadu_ps(bias), bb1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    c0[r] = bb0;
    c1[r] = bb1;
  }
  tile16_acc<MR>(K1, a1, lda1, p1, ldp, c0, c1);
  tile16_acc<MR>(K2, a2, lda2, p2, ldp, c0, c1);
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(s + r * lds, c0[r]);
    _mm256_storeu_ps(s + r * lds + 8, c1[r]);
  }
}

void tile16x2_avx2(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2,
                   const float* a2, ptrdiff_t lda2, const float* p2, ptrdiff_t ldp,
                   const float* bias, int mr, float* s, ptrdiff_t lds) {
  switch (mr) {
    case 1: tile16x2_mr<1>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds); break;
    case 2: tile16x2_mr<2>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds); break;
    case 3: tile16x2_mr<3>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds); break;
    case 4: tile16x2_mr<4>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds); break;
    case 5: tile16x2_mr<5>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds); break;
    default: tile16x2_mr<6>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds); break;
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

// Eight rows against x: eight accumulators (enough to cover the FMA latency on their own), then
// one transposing reduction: hadd pairs rows within each 128-bit lane, the lane swap adds the two
// halves, and the result is the 8 dot products in row order.
void dot8_avx2(int K, const float* m, ptrdiff_t ldm, const float* x, float* y) {
  __m256 s[8];
#pragma GCC unroll 8
  for (int r = 0; r < 8; ++r) s[r] = _mm256_setzero_ps();
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    const __m256 xv = _mm256_loadu_ps(x + k);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) s[r] = _mm256_fmadd_ps(_mm256_loadu_ps(m + r * ldm + k), xv, s[r]);
  }
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(s[0], s[1]), _mm256_hadd_ps(s[2], s[3]));
  const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(s[4], s[5]), _mm256_hadd_ps(s[6], s[7]));
  __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
  if (k < K) {
    alignas(32) float tail[8];
    for (int r = 0; r < 8; ++r) {
      float d = 0;
      for (int q = k; q < K; ++q) d += m[r * ldm + q] * x[q];
      tail[r] = d;
    }
    sum = _mm256_add_ps(sum, _mm256_load_ps(tail));
  }
  _mm256_storeu_ps(y, sum);
}

// ---- The fused forward epilogue (GatesFwd8Fn), with the activations of vec_math_avx2.h (the same
// as gates_avx2.cc's, so both paths give the same bits).

// kAddG: pre-activations G + acc (hoisted input product), else acc alone (fused input product).
template <bool kAddG>
inline __m256 preact(const float* Gr, const float* s) {
  if constexpr (kAddG) return _mm256_add_ps(_mm256_loadu_ps(Gr), _mm256_loadu_ps(s));
  return _mm256_loadu_ps(s);
}

// Two passes over the rows. One row's cell is a long chain of dependent operations (an exp, a
// divide, then c, then tanh(c): ~120 cycles of latency for ~180 operations), and in a single pass
// the out-of-order window holds little more than one row, so the pipes idle on latency. Pass 1
// runs the four gate activations and c (four independent chains per row), pass 2 tanh(c) and h
// (rows independent of each other); o waits in acc between them. Same operations, same bits.
template <bool kAddG>
void gates_fwd8_avx2(int rows, float* acc, float* G, ptrdiff_t ldg, int H, const float* c_prev,
                     float* c, float* tc, ptrdiff_t ldc, float* h, ptrdiff_t ldh, float* y,
                     ptrdiff_t ldy) {
  for (int r = 0; r < rows; ++r) {
    float* s = acc + r * kFwdCols;
    float* Gr = G + r * ldg;
    const ptrdiff_t rc = static_cast<ptrdiff_t>(r) * ldc;
    // c_prev is read before c is written, so c may alias c_prev.
    const CellGates cell = cell_gates(preact<kAddG>(Gr, s), preact<kAddG>(Gr + H, s + 8),
                                      preact<kAddG>(Gr + 2 * H, s + 16), preact<kAddG>(Gr + 3 * H, s + 24),
                                      _mm256_loadu_ps(c_prev + rc));
    if (tc) {  // kept for backward
      _mm256_storeu_ps(Gr, cell.i);
      _mm256_storeu_ps(Gr + H, cell.f);
      _mm256_storeu_ps(Gr + 2 * H, cell.g);
      _mm256_storeu_ps(Gr + 3 * H, cell.o);
    }
    _mm256_storeu_ps(c + rc, cell.c);
    _mm256_storeu_ps(s + 24, cell.o);
  }
  for (int r = 0; r < rows; ++r) {
    const ptrdiff_t rc = static_cast<ptrdiff_t>(r) * ldc;
    const __m256 tcj = tanh_ps(_mm256_loadu_ps(c + rc));
    const __m256 hj = _mm256_mul_ps(_mm256_loadu_ps(acc + r * kFwdCols + 24), tcj);
    if (tc) _mm256_storeu_ps(tc + rc, tcj);
    _mm256_storeu_ps(h + r * ldh, hj);
    if (y) _mm256_storeu_ps(y + r * ldy, hj);
  }
}

void gates_bwd16_avx2(float* dh, const float* dy, const float* G, int H, const float* c_prev,
                      const float* tc, float* dc, float* dG) {
  for (int j = 0; j < kBwdCols; j += 8) {
    __m256 dhj = _mm256_loadu_ps(dh + j);
    if (dy) {
      dhj = _mm256_add_ps(dhj, _mm256_loadu_ps(dy + j));
      _mm256_storeu_ps(dh + j, dhj);
    }
    const CellGrads d = cell_backward(_mm256_loadu_ps(G + j), _mm256_loadu_ps(G + H + j),
                                      _mm256_loadu_ps(G + 2 * H + j), _mm256_loadu_ps(G + 3 * H + j),
                                      _mm256_loadu_ps(tc + j), _mm256_loadu_ps(c_prev + j), dhj,
                                      _mm256_loadu_ps(dc + j));
    _mm256_storeu_ps(dG + j, d.di);
    _mm256_storeu_ps(dG + H + j, d.df);
    _mm256_storeu_ps(dG + 2 * H + j, d.dg);
    _mm256_storeu_ps(dG + 3 * H + j, d.d_o);
    _mm256_storeu_ps(dc + j, d.dc_prev);
  }
}

// Transposes the 8 x 8 block held in r[0..7] (row c = r[c]) in place: afterwards r[k] holds
// element k of every row.
inline void transpose8(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// 8 k at a time: 8 floats of each of the 16 rows, two 8 x 8 transposes, 8 output lines of 16.
void pack16_avx2(int K, const float* const* rows, float* dst) {
  static const float zeros[8] = {};
  int k = 0;
  for (; k + 8 <= K; k += 8) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256 r[8];
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) {
        const float* src = rows[8 * h + c];
        r[c] = _mm256_loadu_ps(src ? src + k : zeros);
      }
      transpose8(r);
#pragma GCC unroll 8
      for (int q = 0; q < 8; ++q) {
        _mm256_storeu_ps(dst + static_cast<ptrdiff_t>(k + q) * 16 + 8 * h, r[q]);
      }
    }
  }
  for (; k < K; ++k) {
    for (int c = 0; c < 16; ++c) {
      dst[static_cast<ptrdiff_t>(k) * 16 + c] = rows[c] ? rows[c][k] : 0.0f;
    }
  }
}

}  // namespace

const RecKernels rec_kernels_avx2 = {"avx2",
                                     &tile16_avx2,
                                     &tile16x2_avx2,
                                     &dot_rows_avx2,
                                     &dot8_avx2,
                                     &gates_fwd8_avx2<true>,
                                     &gates_fwd8_avx2<false>,
                                     &gates_bwd16_avx2,
                                     &pack16_avx2};

}  // namespace rec
}  // namespace lstm

#endif  // LSTM_NATIVE_X86
