// The built-in GEMM's blocked path (contract in gemm.h, pieces in gemm_driver.h): BLIS/GotoBLAS-
// style cache blocking around a register-blocked micro-kernel, split among the pool's threads.
//
//   for each block of nc columns of op(B)                    (B block: L2/L3)
//     for each block of kc steps of k                        (beta applies to the first one only)
//       for each block of mc rows of op(A): pack it          (A block: L2)
//         for each NR-column micro-panel of op(B):
//           pack it on first use, 4 panels at a time         (B micro-panel: L1/L2)
//           for each MR-row micro-panel of A: micro-kernel   (MR x NR tile in registers)
//
// Packing on first use (during the first mc block) keeps freshly packed B panels in cache while
// the whole A block runs over them, which is what the LSTM's short-and-wide products (M = batch,
// N = 4H) need: there B is packed once and used by only M/MR micro-kernel calls.
// Packing buffers are thread_local, 64-byte aligned, grow-only: no allocation per call once warm.
//
// Threads: the M x N output is split into a tm x tn grid of MR/NR-aligned tiles, one per thread,
// picking the grid with the least work on its busiest thread counting the packing each thread
// repeats (so N is split when M is small, M when N is); below kMinFlopsPerThread per thread the
// call stays on the calling thread.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "gemm_driver.h"
#include "test_hooks.h"
#include "thread_pool.h"

namespace lstm {
namespace gemm_detail {
namespace {

thread_local Scratch tl_pack_a, tl_pack_b;

#if defined(LSTM_NATIVE_TEST_HOOKS)
std::atomic<bool> g_test_no_a_scratch{false};
inline bool test_no_a_scratch() { return g_test_no_a_scratch.load(std::memory_order_relaxed); }
#else
constexpr bool test_no_a_scratch() { return false; }
#endif

// op(X)[i][k] for a matrix stored row-major with leading dimension ld.
template <typename F>
inline F at(Trans t, const F* X, ptrdiff_t ld, int i, int k) {
  return t == Trans::No ? X[i * ld + k] : X[k * ld + i];
}

// Packs the whole (mc, kc) block of a transposed A (stored (K, M), e.g. dG in dW = dG^T X) into
// its MR-row panels, reading A one stored row at a time. Panel by panel (pack_a), every k step
// jumps lda floats for MR of them: with lda a multiple of 1024 (4H = 1024) all kc rows fall in
// the same L1 set and each read misses (the backward's weight gradients, dW = dG^T X, take that
// shape).
template <typename F, int MR>
void pack_a_trans_block(const F* A, ptrdiff_t lda, int i0, int mc, int p0, int kc, F* dst) {
  const int full = mc / MR * MR;
  for (int k = 0; k < kc; ++k) {
    const F* s = A + static_cast<ptrdiff_t>(p0 + k) * lda + i0;
    F* d = dst + static_cast<ptrdiff_t>(k) * MR;
    int ir = 0;
    for (; ir < full; ir += MR, d += static_cast<ptrdiff_t>(kc) * MR) {
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) d[r] = s[ir + r];
    }
    if (ir < mc) {
      int r = 0;
      for (; r < mc - ir; ++r) d[r] = s[ir + r];
      for (; r < MR; ++r) d[r] = F(0);
    }
  }
}

// pack_a_trans_block for the kernel's MR; false when MR has no instance (then pack_a is used).
template <typename F>
bool pack_a_trans(int MR, const F* A, ptrdiff_t lda, int i0, int mc, int p0, int kc, F* dst) {
  switch (MR) {
    case 4: pack_a_trans_block<F, 4>(A, lda, i0, mc, p0, kc, dst); return true;
    case 6: pack_a_trans_block<F, 6>(A, lda, i0, mc, p0, kc, dst); return true;
    case 8: pack_a_trans_block<F, 8>(A, lda, i0, mc, p0, kc, dst); return true;
    case 14: pack_a_trans_block<F, 14>(A, lda, i0, mc, p0, kc, dst); return true;
    case 16: pack_a_trans_block<F, 16>(A, lda, i0, mc, p0, kc, dst); return true;
    default: return false;
  }
}

// gemm_blocked against a prepacked B when there is no memory for the A block: one A micro-panel
// at a time on the stack. The same micro-kernels over the same kc blocks: the same bits.
template <typename F>
__attribute__((noinline)) void gemm_prepacked_small_a(const Kernels<F>& kr, Trans ta, int M, int N,
                                                      int K, F alpha, const F* A, ptrdiff_t lda,
                                                      F beta, F* C, ptrdiff_t ldc,
                                                      const PrepackedB<F>& pre) {
  alignas(64) F abuf[kMaxMr * kMaxKc];
  const int MR = kr.mr, NR = kr.nr, kc_blk = kc_block(kr, K);
  for (int pc = 0; pc < K; pc += kc_blk) {
    const int kc = std::min(kc_blk, K - pc);
    const F beta_p = pc == 0 ? beta : F(1);
    for (int ir = 0; ir < M; ir += MR) {
      const int mr = std::min(MR, M - ir);
      kr.pack_a(ta, A, lda, ir, mr, pc, kc, abuf);
      for (int jr = 0; jr < N; jr += NR) {
        const F* bp = pre.data + pc * pre.npad + static_cast<ptrdiff_t>(pre.col0 + jr) * kc;
        kr.micro[mr](kc, abuf, bp, C + static_cast<ptrdiff_t>(ir) * ldc + jr, ldc, alpha, beta_p,
                     std::min(NR, N - jr));
      }
    }
  }
}

// Work below which one more thread costs more (wake-up, duplicated packing) than it saves.
constexpr double kMinFlopsPerThread = 3.0e5;

}  // namespace

template <typename F>
void gemm_unpacked(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, ptrdiff_t lda,
                   const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      F s = F(0);
      for (int k = 0; k < K; ++k) s += at(ta, A, lda, i, k) * at(tb, B, ldb, k, j);
      F* c = C + i * ldc + j;
      *c = beta == F(0) ? alpha * s : alpha * s + beta * *c;
    }
}

template <typename F>
void gemm_blocked(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                  const F* A, ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc,
                  const PrepackedB<F>* pre) {
  const int MR = kr.mr, NR = kr.nr;
  const int kc_blk = kc_block(kr, K);
  const int mc_blk = balanced_block(M, kr.mc, MR);
  const int nc_blk = balanced_block(N, kr.nc, NR);
  F* abuf = test_no_a_scratch()
                ? nullptr
                : tl_pack_a.get<F>(static_cast<size_t>(mc_blk) * kc_blk);
  F* bbuf = pre ? nullptr : tl_pack_b.get<F>(static_cast<size_t>(nc_blk) * kc_blk);
  if (pre && abuf == nullptr) {  // no scratch memory
    gemm_prepacked_small_a(kr, ta, M, N, K, alpha, A, lda, beta, C, ldc, *pre);
    return;
  }
  if (abuf == nullptr || (!pre && bbuf == nullptr)) {  // no scratch memory: B (never null) itself
    gemm_unpacked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  for (int jc = 0; jc < N; jc += nc_blk) {
    const int nc = std::min(nc_blk, N - jc);
    for (int pc = 0; pc < K; pc += kc_blk) {
      const int kc = std::min(kc_blk, K - pc);
      const F beta_p = pc == 0 ? beta : F(1);
      for (int ic = 0; ic < M; ic += mc_blk) {
        const int mc = std::min(mc_blk, M - ic);
        if (ta == Trans::No || !pack_a_trans(MR, A, lda, ic, mc, pc, kc, abuf)) {
          for (int ir = 0; ir < mc; ir += MR)
            kr.pack_a(ta, A, lda, ic + ir, std::min(MR, mc - ir), pc, kc,
                      abuf + static_cast<ptrdiff_t>(ir) * kc);
        }
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = std::min(NR, nc - jr);
          const F* bp;
          if (pre) {
            bp = pre->data + pc * pre->npad + static_cast<ptrdiff_t>(pre->col0 + jc + jr) * kc;
          } else {
            F* dst = bbuf + static_cast<ptrdiff_t>(jr) * kc;
            if (ic == 0 && jr % (kPackGroup * NR) == 0)
              kr.pack_b(tb, B, ldb, pc, kc, jc + jr, std::min(kPackGroup * NR, nc - jr), dst);
            bp = dst;
          }
          F* c = C + static_cast<ptrdiff_t>(ic) * ldc + jc + jr;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = std::min(MR, mc - ir);
            kr.micro[mr](kc, abuf + static_cast<ptrdiff_t>(ir) * kc, bp, c + ir * ldc, ldc,
                         alpha, beta_p, nr);
          }
        }
      }
    }
  }
}

template <typename F>
void gemm_threaded(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                   const F* A, ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C,
                   ptrdiff_t ldc, const F* packed_b) {
  const ptrdiff_t npad = static_cast<ptrdiff_t>(round_up(N, kr.nr));
  const int MR = kr.mr, NR = kr.nr;
  const int mp = ceil_div(M, MR), np = ceil_div(N, NR);  // micro-panels
  const double flops = 2.0 * M * N * K;
  int T = static_cast<int>(std::min<double>(num_threads(), flops / kMinFlopsPerThread));
  T = std::max(1, std::min(T, mp * np));
  // The grid tm x tn (tm * tn == T) with the least work on its busiest thread: multiply-adds plus
  // the packing each thread does on its own (all of its B columns, its A rows once per nc block).
  int tm = 1, tn = 1;
  for (; T > 1; --T) {
    double best = -1;
    for (int cm = 1; cm <= T; ++cm) {
      if (T % cm != 0) continue;
      const int cn = T / cm;
      if (cm > mp || cn > np) continue;
      const double rows = static_cast<double>(ceil_div(mp, cm)) * MR;
      const double cols = static_cast<double>(ceil_div(np, cn)) * NR;
      const double cost = rows * cols * K / 8.0 + 2.0 * K * cols +
                          rows * K * ceil_div(static_cast<int>(cols), kr.nc);
      if (best < 0 || cost < best) {
        best = cost;
        tm = cm;
        tn = cn;
      }
    }
    if (best >= 0) break;
  }
  if (T <= 1) {
    const PrepackedB<F> pre{packed_b, npad, 0};
    gemm_blocked(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                 packed_b ? &pre : nullptr);
    return;
  }
  parallel_for(tm * tn, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int ti = static_cast<int>(t) / tn, tj = static_cast<int>(t) % tn;
      const int m0 = std::min(M, static_cast<int>(static_cast<int64_t>(mp) * ti / tm) * MR);
      const int m1 = std::min(M, static_cast<int>(static_cast<int64_t>(mp) * (ti + 1) / tm) * MR);
      const int n0 = std::min(N, static_cast<int>(static_cast<int64_t>(np) * tj / tn) * NR);
      const int n1 = std::min(N, static_cast<int>(static_cast<int64_t>(np) * (tj + 1) / tn) * NR);
      if (m1 <= m0 || n1 <= n0) continue;
      const F* As = ta == Trans::No ? A + m0 * lda : A + m0;
      const F* Bs = tb == Trans::No ? B + n0 : B + n0 * ldb;
      const PrepackedB<F> pre{packed_b, npad, n0};
      gemm_blocked(kr, ta, tb, m1 - m0, n1 - n0, K, alpha, As, lda, Bs, ldb, beta,
                   C + m0 * ldc + n0, ldc, packed_b ? &pre : nullptr);
    }
  });
}


#define LSTM_GEMM_BLOCKED_INSTANTIATE(F)                                                          \
  template void gemm_unpacked<F>(Trans, Trans, int, int, int, F, const F*, ptrdiff_t, const F*,   \
                                 ptrdiff_t, F, F*, ptrdiff_t);                                    \
  template void gemm_blocked<F>(const Kernels<F>&, Trans, Trans, int, int, int, F, const F*,      \
                                ptrdiff_t, const F*, ptrdiff_t, F, F*, ptrdiff_t,                 \
                                const PrepackedB<F>*);                                            \
  template void gemm_threaded<F>(const Kernels<F>&, Trans, Trans, int, int, int, F, const F*,     \
                                 ptrdiff_t, const F*, ptrdiff_t, F, F*, ptrdiff_t, const F*);
LSTM_GEMM_BLOCKED_INSTANTIATE(float)
LSTM_GEMM_BLOCKED_INSTANTIATE(double)
#undef LSTM_GEMM_BLOCKED_INSTANTIATE

}  // namespace gemm_detail

#if defined(LSTM_NATIVE_TEST_HOOKS)
void gemm_builtin_test_no_a_scratch(bool on) { gemm_detail::g_test_no_a_scratch.store(on); }
#endif

}  // namespace lstm
