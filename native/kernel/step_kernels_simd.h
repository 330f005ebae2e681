// The fast LSTM step's register tiles and fused gate epilogues (contracts in lstm_recurrent.h),
// written once over a vector-traits type V (simd_vec.h) and instantiated by
// lstm_recurrent_avx2.cc (Avx2Vec), step_kernels_avx512.cc (Avx512Vec) and
// step_kernels_emu512_avx2.cc (Emu16Vec: the 16-lane code on AVX2, for the tests).
//
// Tile geometry. A tile is MR rows x 2 vectors, 2W columns: vector 0 reads the panel stream p,
// vector 1 the stream p + stream_offset<V>(K, ldp); both advance ldp floats per k (16 in every
// packed layout of lstm_recurrent.h).
//   W = 8  (AVX2): both vectors come from one 16-column panel (offset 8): Tile16Fn, Tile16x2Fn.
//   W = 16 (AVX-512): vector v covers the whole 16-column panel v of two adjacent panels
//          (offset 16 K: the forward's two half panels of a unit block, or two backward column
//          panels): Tile32Fn, Tile32x2Fn over 32 columns, with no change to the packed layouts.
// Summation order, the invariant the tests hold bit for bit: with MR >= 3 each output element is
// one fma chain acc = fma(a[r][k], p[k][c], acc) over k = 0, 1, ... from 0 (or the bias, then the
// first product's k, then the second's), whatever W is; with MR <= 2 the even and odd k run in two
// chains (enough independent accumulators to hide the FMA latency) added at the end, again the
// same for every W. So every ISA gives every element the same bits, and as the schedulers never cut
// a range of 3 or more rows into tiles of fewer than 3 (rec::for_even_parts), neither does the
// height of the tile (6 rows for AVX2, 12 for AVX-512).
//
// Epilogue geometry: a block keeps 8 units of each gate per row (acc rows of kFwdCols = 32:
// i8 f8 g8 o8). A vector holds W/8 rows of one gate (V::load_rows8), so the 16-lane epilogue runs
// two rows per instruction; an odd last row runs alone with its own row in both halves (stride 0)
// and stores one half. Every lane runs the formulas of vec_math_simd.h: the same bits as AVX2.
//
// Internal linkage only (unnamed namespace), intrinsics only: see simd_vec.h.
#pragma once

#include "lstm_recurrent.h"
#include "simd_vec.h"
#include "vec_math_simd.h"

namespace lstm {
namespace rec {
namespace simd_step {
namespace {

constexpr int kPanelCols = 16;  // floats per k in every packed panel (a 64-byte line)

// Where vector 1 of a tile reads, relative to vector 0: the second half of the same panel (W = 8)
// or the next panel of K x ldp floats (W = 16, ldp = 16).
template <class V>
inline ptrdiff_t stream_offset(int K, ptrdiff_t ldp) {
  static_assert(V::W == 8 || V::W == 16, "a tile is 2 vectors over 16 or 32 columns");
  return V::W == 8 ? 8 : ldp * K;
}

// Adds MR rows x 2W columns of a (rows of K, stride lda) x the two streams to the accumulators.
template <class V, int MR>
__attribute__((always_inline)) inline void tile_acc(int K, const float* a, ptrdiff_t lda,
                                                    const float* p, ptrdiff_t ldp,
                                                    typename V::T (&c0)[MR],
                                                    typename V::T (&c1)[MR]) {
  using T = typename V::T;
  const float* q = p + stream_offset<V>(K, ldp);
  int k = 0;
  if constexpr (MR <= 2) {
    T d0[MR], d1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) d0[r] = d1[r] = V::zero();
    for (; k + 2 <= K; k += 2) {
      const float* pk = p + k * ldp;
      const float* qk = q + k * ldp;
      const T b0 = V::loadu(pk), b1 = V::loadu(qk);
      const T e0 = V::loadu(pk + ldp), e1 = V::loadu(qk + ldp);
#pragma GCC unroll 12
      for (int r = 0; r < MR; ++r) {
        const T ar = V::bcast(a + r * lda + k);
        c0[r] = V::fma(ar, b0, c0[r]);
        c1[r] = V::fma(ar, b1, c1[r]);
        const T aq = V::bcast(a + r * lda + k + 1);
        d0[r] = V::fma(aq, e0, d0[r]);
        d1[r] = V::fma(aq, e1, d1[r]);
      }
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      c0[r] = V::add(c0[r], d0[r]);
      c1[r] = V::add(c1[r], d1[r]);
    }
  }
  // Unrolled: the loop branch and pointer updates otherwise take issue slots from the FMAs.
#pragma GCC unroll 4
  for (; k < K; ++k) {
    const T b0 = V::loadu(p + k * ldp), b1 = V::loadu(q + k * ldp);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const T ar = V::bcast(a + r * lda + k);
      c0[r] = V::fma(ar, b0, c0[r]);
      c1[r] = V::fma(ar, b1, c1[r]);
    }
  }
}

template <class V, int MR>
inline void tile_store(float* s, ptrdiff_t lds, typename V::T (&c0)[MR], typename V::T (&c1)[MR]) {
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    V::storeu(s + r * lds, c0[r]);
    V::storeu(s + r * lds + V::W, c1[r]);
  }
}

// s[r][0:2W) = a x streams, overwriting s (Tile16Fn for W 8, Tile32Fn for W 16).
template <class V, int MR>
void tile_mr(int K, const float* a, ptrdiff_t lda, const float* p, ptrdiff_t ldp, float* s,
             ptrdiff_t lds) {
  typename V::T c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = V::zero();
  tile_acc<V, MR>(K, a, lda, p, ldp, c0, c1);
  tile_store<V, MR>(s, lds, c0, c1);
}

// s[r][0:2W) = bias + a1 x streams1 + a2 x streams2 (Tile16x2Fn for W 8, Tile32x2Fn for W 16).
template <class V, int MR>
void tile_x2_mr(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2, const float* a2,
                ptrdiff_t lda2, const float* p2, ptrdiff_t ldp, const float* bias, float* s,
                ptrdiff_t lds) {
  typename V::T c0[MR], c1[MR];
  const typename V::T bb0 = V::loadu(bias), bb1 = V::loadu(bias + V::W);
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    c0[r] = bb0;
    c1[r] = bb1;
  }
  tile_acc<V, MR>(K1, a1, lda1, p1, ldp, c0, c1);
  tile_acc<V, MR>(K2, a2, lda2, p2, ldp, c0, c1);
  tile_store<V, MR>(s, lds, c0, c1);
}

// The run-time row count to the instantiation for it (mr in 1 .. kMaxRows).
template <class V, int kMaxRows>
void tile_rows(int K, const float* a, ptrdiff_t lda, int mr, const float* p, ptrdiff_t ldp, float* s,
               ptrdiff_t lds) {
  static_assert(kMaxRows == 6 || kMaxRows == 12, "tiles of at most 6 or 12 rows");
  switch (mr) {
    case 1: return tile_mr<V, 1>(K, a, lda, p, ldp, s, lds);
    case 2: return tile_mr<V, 2>(K, a, lda, p, ldp, s, lds);
    case 3: return tile_mr<V, 3>(K, a, lda, p, ldp, s, lds);
    case 4: return tile_mr<V, 4>(K, a, lda, p, ldp, s, lds);
    case 5: return tile_mr<V, 5>(K, a, lda, p, ldp, s, lds);
    default: break;
  }
  if constexpr (kMaxRows == 12) {
    switch (mr) {
      case 6: return tile_mr<V, 6>(K, a, lda, p, ldp, s, lds);
      case 7: return tile_mr<V, 7>(K, a, lda, p, ldp, s, lds);
      case 8: return tile_mr<V, 8>(K, a, lda, p, ldp, s, lds);
      case 9: return tile_mr<V, 9>(K, a, lda, p, ldp, s, lds);
      case 10: return tile_mr<V, 10>(K, a, lda, p, ldp, s, lds);
      case 11: return tile_mr<V, 11>(K, a, lda, p, ldp, s, lds);
      default: return tile_mr<V, 12>(K, a, lda, p, ldp, s, lds);
    }
  } else {
    return tile_mr<V, 6>(K, a, lda, p, ldp, s, lds);
  }
}

template <class V, int kMaxRows>
void tile_x2_rows(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2,
                  const float* a2, ptrdiff_t lda2, const float* p2, ptrdiff_t ldp, const float* bias,
                  int mr, float* s, ptrdiff_t lds) {
  static_assert(kMaxRows == 6 || kMaxRows == 12, "tiles of at most 6 or 12 rows");
#define LSTM_TILE_X2(R) return tile_x2_mr<V, R>(K1, a1, lda1, p1, K2, a2, lda2, p2, ldp, bias, s, lds)
  switch (mr) {
    case 1: LSTM_TILE_X2(1);
    case 2: LSTM_TILE_X2(2);
    case 3: LSTM_TILE_X2(3);
    case 4: LSTM_TILE_X2(4);
    case 5: LSTM_TILE_X2(5);
    default: break;
  }
  if constexpr (kMaxRows == 12) {
    switch (mr) {
      case 6: LSTM_TILE_X2(6);
      case 7: LSTM_TILE_X2(7);
      case 8: LSTM_TILE_X2(8);
      case 9: LSTM_TILE_X2(9);
      case 10: LSTM_TILE_X2(10);
      case 11: LSTM_TILE_X2(11);
      default: LSTM_TILE_X2(12);
    }
  } else {
    LSTM_TILE_X2(6);
  }
#undef LSTM_TILE_X2
}

// ---- The fused forward epilogue (GatesFwd8Fn) --------------------------------------------------

// The pre-activations of one gate for the rows of one vector: G + acc (hoisted input product,
// kAddG) or acc alone (fused input product).
template <class V, bool kAddG>
inline typename V::T preact(const float* Gr, ptrdiff_t sg, const float* s, ptrdiff_t sa) {
  if constexpr (kAddG) return V::add(V::load_rows8(Gr, sg), V::load_rows8(s, sa));
  return V::load_rows8(s, sa);
}

// Two passes over the rows. One row's cell is a long chain of dependent operations (an exp, a
// divide, then c, then tanh(c): ~120 cycles of latency for ~180 operations), and in a single pass
// the out-of-order window holds little more than one vector's rows, so the pipes idle on latency.
// Pass 1 runs the four gate activations and c (four independent chains), pass 2 tanh(c) and h
// (vectors independent of each other); o waits in acc between them.
template <class V, bool kAddG>
void gates_fwd8(int rows, float* acc, float* G, ptrdiff_t ldg, int H, const float* c_prev,
                float* c, float* tc, ptrdiff_t ldc, float* h, ptrdiff_t ldh, float* y,
                ptrdiff_t ldy) {
  using T = typename V::T;
  constexpr int R = V::W / kUnits;  // rows per vector
  for (int r = 0; r < rows; r += R) {
    const int n = rows - r < R ? rows - r : R;
    // Strides to the vector's second row: 0 for a last row alone (it fills both halves).
    const ptrdiff_t sa = n > 1 ? kFwdCols : 0, sg = n > 1 ? ldg : 0, sc = n > 1 ? ldc : 0;
    float* s = acc + r * kFwdCols;
    float* Gr = G + r * ldg;
    const ptrdiff_t rc = static_cast<ptrdiff_t>(r) * ldc;
    // c_prev is read before c is written, so c may alias c_prev.
    const vm::CellGates<V> cell = vm::cell_gates<V>(
        preact<V, kAddG>(Gr, sg, s, sa), preact<V, kAddG>(Gr + H, sg, s + 8, sa),
        preact<V, kAddG>(Gr + 2 * H, sg, s + 16, sa), preact<V, kAddG>(Gr + 3 * H, sg, s + 24, sa),
        V::load_rows8(c_prev + rc, sc));
    if (tc) {  // kept for backward
      V::store_rows8(Gr, ldg, cell.i, n);
      V::store_rows8(Gr + H, ldg, cell.f, n);
      V::store_rows8(Gr + 2 * H, ldg, cell.g, n);
      V::store_rows8(Gr + 3 * H, ldg, cell.o, n);
    }
    V::store_rows8(c + rc, ldc, cell.c, n);
    V::store_rows8(s + 24, kFwdCols, cell.o, n);
  }
  for (int r = 0; r < rows; r += R) {
    const int n = rows - r < R ? rows - r : R;
    const ptrdiff_t sa = n > 1 ? kFwdCols : 0, sc = n > 1 ? ldc : 0;
    const ptrdiff_t rc = static_cast<ptrdiff_t>(r) * ldc;
    const T tcj = vm::tanh_v<V>(V::load_rows8(c + rc, sc));
    const T hj = V::mul(V::load_rows8(acc + r * kFwdCols + 24, sa), tcj);
    if (tc) V::store_rows8(tc + rc, ldc, tcj, n);
    V::store_rows8(h + r * ldh, ldh, hj, n);
    if (y) V::store_rows8(y + r * ldy, ldy, hj, n);
  }
}

// ---- The fused backward epilogue (GatesBwd16Fn): 16 columns of one row, 16 / W vectors --------
template <class V>
void gates_bwd16(float* dh, const float* dy, const float* G, int H, const float* c_prev,
                 const float* tc, float* dc, float* dG) {
  for (int j = 0; j < kBwdCols; j += V::W) {
    typename V::T dhj = V::loadu(dh + j);
    if (dy) {
      dhj = V::add(dhj, V::loadu(dy + j));
      V::storeu(dh + j, dhj);
    }
    const vm::CellGrads<V> d = vm::cell_backward<V>(
        V::loadu(G + j), V::loadu(G + H + j), V::loadu(G + 2 * H + j), V::loadu(G + 3 * H + j),
        V::loadu(tc + j), V::loadu(c_prev + j), dhj, V::loadu(dc + j));
    V::storeu(dG + j, d.di);
    V::storeu(dG + H + j, d.df);
    V::storeu(dG + 2 * H + j, d.dg);
    V::storeu(dG + 3 * H + j, d.d_o);
    V::storeu(dc + j, d.dc_prev);
  }
}

// ---- The 16-lane part of a kernel set (lstm_recurrent.h: rec_kernels_avx512_part) ---------------

// The most rows of a wide tile: 24 accumulators (the register budget in step_kernels_avx512.cc).
constexpr int kWideRows = 12;

template <class V>
void tile32(int K, const float* a, ptrdiff_t lda, int mr, const float* p, float* s, ptrdiff_t lds) {
  tile_rows<V, kWideRows>(K, a, lda, mr, p, kPanelCols, s, lds);
}

template <class V>
void tile32x2(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2, const float* a2,
              ptrdiff_t lda2, const float* p2, const float* bias, int mr, float* s, ptrdiff_t lds) {
  tile_x2_rows<V, kWideRows>(K1, a1, lda1, p1, K2, a2, lda2, p2, kPanelCols, bias, mr, s, lds);
}

// The wide tiles and the fused epilogues over V (16 lanes); the other entries stay null for
// the ISA table (isa_table.cc) to fill from the avx2 set. constexpr: the table is constant data, so no
// instruction of V's ISA runs before dispatch has checked the CPU.
template <class V>
constexpr RecKernels wide_part(const char* name) {
  static_assert(V::W == 16, "the wide part is the 16-lane one");
  RecKernels k{name,
               nullptr,
               nullptr,
               nullptr,
               nullptr,
               &gates_fwd8<V, true>,
               &gates_fwd8<V, false>,
               &gates_bwd16<V>,
               nullptr};
  k.tile32 = &tile32<V>;
  k.tile32x2 = &tile32x2<V>;
  k.wide_rows = kWideRows;
  return k;
}

}  // namespace
}  // namespace simd_step
}  // namespace rec
}  // namespace lstm
