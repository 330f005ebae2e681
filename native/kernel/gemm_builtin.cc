// The built-in GEMM (contract in gemm.h): BLIS/GotoBLAS-style cache blocking around a
// register-blocked micro-kernel, parallelised over the kernel's thread pool.
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
// repeats (so N is split when M is small, M when N is); below ~0.3 MFLOP per thread the call stays
// on the calling thread. M == 1 or N == 1 goes to GEMV kernels (split over rows or columns when
// large), never through packing.
//
// Kernels per ISA (gemm_builtin_avx2.cc, gemm_builtin_avx512.cc) are chosen once from active_isa();
// the portable ones below (4x8 tile, plain loops the compiler may vectorise) run everywhere else.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>

#include "gemm_builtin.h"
#include "thread_pool.h"

namespace lstm {
namespace gemm_detail {
namespace {

// ---- portable kernels -------------------------------------------------------------------------

template <typename F, int MR, int NR, int R>
void micro_scalar(int kc, const F* a, const F* b, F* c, ptrdiff_t ldc, F alpha, F beta, int nr) {
  F acc[R][NR];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NR; ++j) acc[r][j] = F(0);
  for (int k = 0; k < kc; ++k, a += MR, b += NR) {
    for (int r = 0; r < R; ++r) {
      const F av = a[r];
      for (int j = 0; j < NR; ++j) acc[r][j] += av * b[j];
    }
  }
  for (int r = 0; r < R; ++r) {
    F* p = c + r * ldc;
    if (beta == F(0)) {
      for (int j = 0; j < nr; ++j) p[j] = alpha * acc[r][j];
    } else {
      for (int j = 0; j < nr; ++j) p[j] = alpha * acc[r][j] + beta * p[j];
    }
  }
}

template <typename F, int MR>
void pack_a_generic(Trans ta, const F* A, ptrdiff_t lda, int i0, int mr, int p0, int kc, F* dst) {
  if (ta == Trans::No && mr == MR) {  // A stored (M, K), a full panel: k outer, so the panel is
    const F* rows[MR];                 // written in order while MR row streams are read
    for (int r = 0; r < MR; ++r) rows[r] = A + static_cast<ptrdiff_t>(i0 + r) * lda + p0;
    for (int k = 0; k < kc; ++k, dst += MR) {
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) dst[r] = rows[r][k];
    }
  } else if (ta == Trans::No) {  // A stored (M, K): row i0 + r, contiguous in k
    for (int r = 0; r < MR; ++r) {
      F* d = dst + r;
      if (r < mr) {
        const F* s = A + static_cast<ptrdiff_t>(i0 + r) * lda + p0;
        for (int k = 0; k < kc; ++k) d[k * MR] = s[k];
      } else {
        for (int k = 0; k < kc; ++k) d[k * MR] = F(0);
      }
    }
  } else {                // A stored (K, M): op(A)[i][k] = A[k][i], contiguous in i
    const F* s = A + static_cast<ptrdiff_t>(p0) * lda + i0;
    for (int k = 0; k < kc; ++k, s += lda, dst += MR) {
      int r = 0;
      for (; r < mr; ++r) dst[r] = s[r];
      for (; r < MR; ++r) dst[r] = F(0);
    }
  }
}

template <typename F, int NR>
void pack_b_generic(Trans tb, const F* B, ptrdiff_t ldb, int p0, int kc, int j0, int ncols, F* dst) {
  for (int j = 0; j < ncols; j += NR, dst += static_cast<ptrdiff_t>(kc) * NR) {
    const int nr = std::min(NR, ncols - j);
    if (tb == Trans::No) {  // B stored (K, N): row p0 + k, contiguous in j
      const F* s = B + static_cast<ptrdiff_t>(p0) * ldb + j0 + j;
      for (int k = 0; k < kc; ++k, s += ldb) {
        F* d = dst + k * NR;
        int c = 0;
        for (; c < nr; ++c) d[c] = s[c];
        for (; c < NR; ++c) d[c] = F(0);
      }
    } else {                // B stored (N, K): op(B)[k][j] = B[j][k], contiguous in k
      for (int c = 0; c < NR; ++c) {
        F* d = dst + c;
        if (c < nr) {
          const F* s = B + static_cast<ptrdiff_t>(j0 + j + c) * ldb + p0;
          for (int k = 0; k < kc; ++k) d[k * NR] = s[k];
        } else {
          for (int k = 0; k < kc; ++k) d[k * NR] = F(0);
        }
      }
    }
  }
}

template <typename F>
void gemv_dot_scalar(int rows, int K, F alpha, const F* m, ptrdiff_t ldm, const F* x, F beta, F* y,
                     ptrdiff_t incy) {
  for (int i = 0; i < rows; ++i) {
    const F* r = m + static_cast<ptrdiff_t>(i) * ldm;
    // Eight independent partial sums: the compiler turns the lane loop into SIMD.
    F s[8] = {};
    int k = 0;
    for (; k + 8 <= K; k += 8)
      for (int l = 0; l < 8; ++l) s[l] += r[k + l] * x[k + l];
    for (; k < K; ++k) s[0] += r[k] * x[k];
    F d = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    F* yi = y + static_cast<ptrdiff_t>(i) * incy;
    *yi = beta == F(0) ? alpha * d : alpha * d + beta * *yi;
  }
}

template <typename F>
void gemv_axpy_scalar(int K, int cols, F alpha, const F* m, ptrdiff_t ldm, const F* x, F beta,
                      F* y) {
  constexpr int kBlock = 64;
  F acc[kBlock];
  for (int j0 = 0; j0 < cols; j0 += kBlock) {
    const int nb = std::min(kBlock, cols - j0);
    for (int j = 0; j < nb; ++j) acc[j] = F(0);
    for (int k = 0; k < K; ++k) {
      const F xk = x[k];
      const F* r = m + static_cast<ptrdiff_t>(k) * ldm + j0;
      for (int j = 0; j < nb; ++j) acc[j] += xk * r[j];
    }
    for (int j = 0; j < nb; ++j)
      y[j0 + j] = beta == F(0) ? alpha * acc[j] : alpha * acc[j] + beta * y[j0 + j];
  }
}

template <typename F>
void kernels_scalar(Kernels<F>* k) {
  constexpr int MR = 4, NR = 8;
  *k = Kernels<F>();
  k->name = "scalar";
  k->mr = MR;
  k->nr = NR;
  k->kc = 256;
  k->mc = 128;
  k->nc = 2048;
  k->micro[1] = micro_scalar<F, MR, NR, 1>;
  k->micro[2] = micro_scalar<F, MR, NR, 2>;
  k->micro[3] = micro_scalar<F, MR, NR, 3>;
  k->micro[4] = micro_scalar<F, MR, NR, 4>;
  k->gemv_dot = gemv_dot_scalar<F>;
  k->gemv_axpy = gemv_axpy_scalar<F>;
}

// Portable packers for the ISA kernels that bring none of their own.
template <typename F>
PackA<F> generic_pack_a(int mr) {
  switch (mr) {
    case 4: return pack_a_generic<F, 4>;
    case 6: return pack_a_generic<F, 6>;
    case 8: return pack_a_generic<F, 8>;
    default: return nullptr;
  }
}

template <typename F>
PackB<F> generic_pack_b(int nr) {
  switch (nr) {
    case 8: return pack_b_generic<F, 8>;
    case 16: return pack_b_generic<F, 16>;
    case 32: return pack_b_generic<F, 32>;
    default: return nullptr;
  }
}

template <typename F>
bool complete(Kernels<F>* k) {
  if (!k->pack_a) k->pack_a = generic_pack_a<F>(k->mr);
  if (!k->pack_b) k->pack_b = generic_pack_b<F>(k->nr);
  if (!k->gemv_dot) k->gemv_dot = gemv_dot_scalar<F>;
  if (!k->gemv_axpy) k->gemv_axpy = gemv_axpy_scalar<F>;
  if (!k->pack_a || !k->pack_b || k->mr < 1 || k->mr > kMaxMr) return false;
  if (k->kc < 1 || k->kc > kMaxKc) return false;
  for (int r = 1; r <= k->mr; ++r)
    if (!k->micro[r]) return false;
  return true;
}

// The kernels for one ISA, built once; falls back towards scalar when a variant is unavailable.
template <typename F>
struct KernelTable {
  Kernels<F> scalar, avx2, avx512;
  bool have_avx2 = false, have_avx512 = false;
  KernelTable() {
    kernels_scalar(&scalar);
    complete(&scalar);
#if defined(LSTM_NATIVE_X86)
    have_avx2 = cpu_supports(Isa::Avx2) && kernels_avx2(&avx2) && complete(&avx2);
    have_avx512 = cpu_supports(Isa::Avx512) && kernels_avx512(&avx512) && complete(&avx512);
#endif
  }
  const Kernels<F>& get(Isa isa) const {
    if (isa == Isa::Avx512 && have_avx512) return avx512;
    if ((isa == Isa::Avx512 || isa == Isa::Avx2) && have_avx2) return avx2;
    return scalar;
  }
};

template <typename F>
const KernelTable<F>& kernel_table() {
  static const KernelTable<F> table;
  return table;
}

// ---- buffers ----------------------------------------------------------------------------------

// A grow-only 64-byte-aligned scratch buffer, one per thread and purpose.
class Scratch {
 public:
  ~Scratch() { std::free(raw_); }
  // nullptr when the allocation fails (the caller then takes the unpacked path).
  template <typename F>
  F* get(size_t count) {
    size_t bytes = count * sizeof(F);
    if (bytes > cap_) {
      std::free(raw_);
      raw_ = nullptr;
      cap_ = 0;
      size_t want = std::max<size_t>(bytes + bytes / 8, 4096);  // some headroom for growth
      raw_ = std::malloc(want + 64);
      if (raw_ == nullptr) return nullptr;
      cap_ = want;
    }
    uintptr_t p = (reinterpret_cast<uintptr_t>(raw_) + 63) & ~static_cast<uintptr_t>(63);
    return reinterpret_cast<F*>(p);
  }

 private:
  void* raw_ = nullptr;
  size_t cap_ = 0;
};

thread_local Scratch tl_pack_a, tl_pack_b, tl_vec_x, tl_vec_y;

// Test hook: behave as if the A block's scratch memory could not be allocated.
std::atomic<bool> g_test_no_a_scratch{false};

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
inline int round_up(int a, int b) { return ceil_div(a, b) * b; }

// Splits `total` into blocks of at most `max_block` of nearly equal size, a multiple of `unit`.
inline int balanced_block(int total, int max_block, int unit) {
  int n = ceil_div(total, max_block);
  return std::min(round_up(ceil_div(total, n), unit), round_up(max_block, unit));
}

// C (M, N) = beta * C; beta == 0 overwrites.
template <typename F>
void scale_c(int M, int N, F beta, F* C, ptrdiff_t ldc) {
  for (int i = 0; i < M; ++i) {
    F* c = C + i * ldc;
    if (beta == F(0)) {
      for (int j = 0; j < N; ++j) c[j] = F(0);
    } else if (beta != F(1)) {
      for (int j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

// op(X)[i][k] for a matrix stored row-major with leading dimension ld.
template <typename F>
inline F at(Trans t, const F* X, ptrdiff_t ld, int i, int k) {
  return t == Trans::No ? X[i * ld + k] : X[k * ld + i];
}

// Correct everywhere, fast nowhere: only when a packing buffer cannot be allocated.
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

// B micro-panels packed per pack_b call (on first use): 4 lets the packer read 4*NR contiguous
// elements of each row of B when op(B) is not transposed.
constexpr int kPackGroup = 4;

// Packs the whole (mc, kc) block of a transposed A (stored (K, M), e.g. dG in dW = dG^T X) into
// its MR-row panels, reading A one stored row at a time. Panel by panel (pack_a), every k step
// jumps lda floats for MR of them: with lda a multiple of 1024 (4H = 1024) all kc rows fall in
// the same L1 set and each read misses (the backward's weight gradients spent ~11% of a
// training step there).
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

// op(B) already packed (gemm_builtin_pack_b): its kc blocks one after the other, each holding the
// micro-panels of every column; the block starting at k = pc starts at pc * npad. The products
// read the same packed values in the same order as when they pack B themselves: same bits.
template <typename F>
struct PrepackedB {
  const F* data;
  ptrdiff_t npad;  // columns of op(B) rounded up to NR
  int col0;        // column of op(B) where this call's columns start (a multiple of NR)
};

// The kc block size for K: packing and products must agree on it.
template <typename F>
int kc_block(const Kernels<F>& kr, int K) {
  return balanced_block(K, kr.kc, 4);
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

// One thread's share: the blocked loops over an (M, N) sub-problem. A, B and C point at the
// sub-problem's first row / column; pre (optional): op(B) packed already, B is then never read.
template <typename F>
void gemm_blocked(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                  const F* A, ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc,
                  const PrepackedB<F>* pre = nullptr) {
  const int MR = kr.mr, NR = kr.nr;
  const int kc_blk = kc_block(kr, K);
  const int mc_blk = balanced_block(M, kr.mc, MR);
  const int nc_blk = balanced_block(N, kr.nc, NR);
  F* abuf = g_test_no_a_scratch.load(std::memory_order_relaxed)
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

// Work below which one more thread costs more (wake-up, duplicated packing) than it saves.
constexpr double kMinFlopsPerThread = 3.0e5;
constexpr int64_t kGemvMinPerThread = 32768;  // matrix elements

template <typename F>
void gemm_threaded(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                   const F* A, ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C,
                   ptrdiff_t ldc, const F* packed_b = nullptr) {
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

// M == 1 or N == 1: matrix-vector products, no packing.
template <typename F>
void gemv_path(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A,
               ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc) {
  // Describe it as y = alpha * op(Mx) x + beta * y over `len` outputs.
  const F* x;          // K elements, contiguous
  const F* mat;        // the matrix
  ptrdiff_t ldm;
  bool dot;            // rows of mat are contiguous in k (dot form) or columns are (axpy form)
  int len;
  ptrdiff_t incy;
  auto contiguous = [&](const F* v, ptrdiff_t inc) -> const F* {
    if (inc == 1) return v;
    F* buf = tl_vec_x.get<F>(static_cast<size_t>(K));
    if (buf == nullptr) return nullptr;
    for (int k = 0; k < K; ++k) buf[k] = v[k * inc];
    return buf;
  };
  if (M == 1) {
    x = contiguous(A, ta == Trans::No ? 1 : lda);
    mat = B;
    ldm = ldb;
    dot = tb == Trans::Yes;
    len = N;
    incy = 1;
  } else {
    x = contiguous(B, tb == Trans::Yes ? 1 : ldb);
    mat = A;
    ldm = lda;
    dot = ta == Trans::No;
    len = M;
    incy = ldc;
  }
  F* y = C;
  F* ytmp = nullptr;
  if (!dot && incy != 1) {  // the axpy form writes a contiguous y: go through a scratch vector
    ytmp = tl_vec_y.get<F>(static_cast<size_t>(len));
    y = ytmp;
  }
  if (x == nullptr || (!dot && incy != 1 && ytmp == nullptr)) {
    gemm_unpacked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const F beta_k = ytmp ? F(0) : beta;
  auto run = [&](int j0, int j1) {
    if (dot) {
      kr.gemv_dot(j1 - j0, K, alpha, mat + j0 * ldm, ldm, x, beta_k, y + j0 * incy, incy);
    } else {
      kr.gemv_axpy(K, j1 - j0, alpha, mat + j0, ldm, x, beta_k, y + j0);
    }
  };
  const int64_t work = static_cast<int64_t>(len) * K;
  const int T = static_cast<int>(std::min<int64_t>(num_threads(), work / kGemvMinPerThread));
  if (T <= 1 || len < 64) {
    run(0, len);
  } else {
    const int unit = 16, units = ceil_div(len, unit);
    parallel_for(std::min(T, units), [&](int64_t t0, int64_t t1) {
      const int parts = std::min(T, units);
      for (int64_t t = t0; t < t1; ++t) {
        const int j0 = std::min(len, static_cast<int>(units * t / parts) * unit);
        const int j1 = std::min(len, static_cast<int>(units * (t + 1) / parts) * unit);
        if (j1 > j0) run(j0, j1);
      }
    });
  }
  if (ytmp != nullptr) {
    for (int i = 0; i < len; ++i) {
      F* c = C + i * incy;
      *c = beta == F(0) ? ytmp[i] : ytmp[i] + beta * *c;
    }
  }
}

template <typename F>
void gemm_run(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A,
               int lda, const F* B, int ldb, F beta, F* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == F(0)) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (M == 1 || N == 1) {
    gemv_path(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemm_threaded(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

Isa gemm_builtin_active_isa() {
  static const Isa isa = [] {
    Isa a = active_isa();
    const auto& t = kernel_table<float>();
    if (a == Isa::Avx512 && t.have_avx512) return Isa::Avx512;
    if ((a == Isa::Avx512 || a == Isa::Avx2) && t.have_avx2) return Isa::Avx2;
    return Isa::Scalar;
  }();
  return isa;
}

template <typename F>
void gemm_builtin_isa(Isa isa, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                      const F* B, int ldb, F beta, F* C, int ldc) {
  gemm_run(kernel_table<F>().get(isa), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename F>
bool gemm_with_kernels(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                       const F* A, int lda, const F* B, int ldb, F beta, F* C, int ldc) {
  Kernels<F> k = kr;
  if (!complete(&k)) return false;
  gemm_run(k, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return true;
}

template bool gemm_with_kernels<float>(const Kernels<float>&, Trans, Trans, int, int, int, float,
                                       const float*, int, const float*, int, float, float*, int);
template bool gemm_with_kernels<double>(const Kernels<double>&, Trans, Trans, int, int, int, double,
                                        const double*, int, const double*, int, double, double*,
                                        int);
template void gemm_builtin_isa<float>(Isa, Trans, Trans, int, int, int, float, const float*, int,
                                      const float*, int, float, float*, int);
template void gemm_builtin_isa<double>(Isa, Trans, Trans, int, int, int, double, const double*, int,
                                       const double*, int, double, double*, int);

}  // namespace gemm_detail

template <typename F>
void gemm_builtin(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
                  int ldb, F beta, F* C, int ldc) {
  static const gemm_detail::Kernels<F>& kr =
      gemm_detail::kernel_table<F>().get(gemm_detail::gemm_builtin_active_isa());
  gemm_detail::gemm_run(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void gemm_builtin<float>(Trans, Trans, int, int, int, float, const float*, int,
                                  const float*, int, float, float*, int);
template void gemm_builtin<double>(Trans, Trans, int, int, int, double, const double*, int,
                                   const double*, int, double, double*, int);

namespace {
const gemm_detail::Kernels<float>& active_float_kernels() {
  static const gemm_detail::Kernels<float>& kr =
      gemm_detail::kernel_table<float>().get(gemm_detail::gemm_builtin_active_isa());
  return kr;
}

// The micro-kernels load packed panels with aligned loads (up to 64 bytes): the packed data starts
// at the buffer's first 64-byte boundary, and the size includes the 15 floats that may skip.
constexpr size_t kPackedAlignFloats = 16;
template <typename P>
P* packed_start(P* p) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<P*>((at + 63) & ~static_cast<uintptr_t>(63));
}

// The prepacked-B layout, in one place: for each kc block of K, the columns of op(B) in
// micro-panels of kc x NR (p[k * NR + c]), one after the other. Calls fill(j0, ncols, pc, kc, dst)
// for columns [j0, j0 + ncols) (a group of `group` columns, a multiple of NR; the last one
// shorter) of kc block pc, dst being where their ceil(ncols / NR) panels go; in parallel over the
// groups.
template <class Fill>
void pack_b_layout(int N, int K, float* packed_b, int group, const Fill& fill) {
  const gemm_detail::Kernels<float>& kr = active_float_kernels();
  if (N <= 0 || K <= 0) return;
  float* dst = packed_start(packed_b);
  const int kc_blk = gemm_detail::kc_block(kr, K);
  const ptrdiff_t npad = gemm_detail::round_up(N, kr.nr);
  const int groups = gemm_detail::ceil_div(N, group);
  parallel_for_min(groups, 4, [&](int64_t g0, int64_t g1) {
    for (int pc = 0; pc < K; pc += kc_blk) {
      const int kc = std::min(kc_blk, K - pc);
      for (int64_t g = g0; g < g1; ++g) {
        const int j0 = static_cast<int>(g) * group;
        const int ncols = std::min(group, N - j0);
        fill(j0, ncols, pc, kc, dst + pc * npad + static_cast<ptrdiff_t>(j0) * kc);
      }
    }
  });
}
}  // namespace

size_t gemm_builtin_packed_b_size(int N, int K) {
  if (N <= 0 || K <= 0) return 0;
  const int npad = gemm_detail::round_up(N, active_float_kernels().nr);
  return static_cast<size_t>(npad) * static_cast<size_t>(K) + kPackedAlignFloats;
}

void gemm_builtin_pack_b(Trans tb, int N, int K, const float* B, int ldb, float* packed_b) {
  const gemm_detail::Kernels<float>& kr = active_float_kernels();
  // Several panels per pack_b call let the packer read longer runs of each row of B.
  pack_b_layout(N, K, packed_b, gemm_detail::kPackGroup * kr.nr,
                [&](int j0, int ncols, int pc, int kc, float* dst) {
                  kr.pack_b(tb, B, ldb, pc, kc, j0, ncols, dst);
                });
}

void gemm_builtin_pack_b_panels(int N, int K, float* packed_b,
                                void (*fill)(void* ctx, int j0, int p0, int kc, float* panel),
                                void* ctx) {
  pack_b_layout(N, K, packed_b, active_float_kernels().nr,
                [&](int j0, int, int pc, int kc, float* dst) { fill(ctx, j0, pc, kc, dst); });
}

void gemm_builtin_pack_b_rows(int N, int K, const float* W, int ldw, int (*row)(void* ctx, int j),
                              void* ctx, float* packed_b) {
  struct Rows {
    int N, NR;
    const float* W;
    int ldw;
    int (*row)(void*, int);
    void* ctx;
  } r{N, active_float_kernels().nr, W, ldw, row, ctx};
  // Each source row is copied along k (contiguous reads); its panel of kc x NR stays in L1.
  auto fill = [](void* c, int j0, int p0, int kc, float* d) {
    const Rows& r = *static_cast<const Rows*>(c);
    const int NR = r.NR;  // locals: the stores below could alias r for the compiler
    const float* W = r.W;
    const ptrdiff_t ldw = r.ldw;
    for (int q = 0; q < NR; ++q) {
      const int j = j0 + q;
      const int src_row = j < r.N ? r.row(r.ctx, j) : -1;
      if (src_row < 0) {
        for (int k = 0; k < kc; ++k) d[k * NR + q] = 0.0f;
      } else {
        const float* src = W + src_row * ldw + p0;
        for (int k = 0; k < kc; ++k) d[k * NR + q] = src[k];
      }
    }
  };
  gemm_builtin_pack_b_panels(N, K, packed_b, fill, &r);
}

int gemm_builtin_packed_b_col_align() { return active_float_kernels().nr; }

void gemm_builtin_test_no_a_scratch(bool on) { gemm_detail::g_test_no_a_scratch.store(on); }

void gemm_builtin_packed_b_cols(int M, int N, int K, const float* A, int lda,
                                const float* packed_b, int n0, int n1, float beta, float* C,
                                int ldc) {
  const gemm_detail::Kernels<float>& kr = active_float_kernels();
  n1 = std::min(n1, N);
  if (M <= 0 || n1 <= n0 || K <= 0) return;
  const gemm_detail::PrepackedB<float> pre{packed_start(packed_b), gemm_detail::round_up(N, kr.nr),
                                           n0};
  gemm_detail::gemm_blocked(kr, Trans::No, Trans::Yes, M, n1 - n0, K, 1.0f, A, lda,
                            static_cast<const float*>(nullptr), 0, beta, C + n0, ldc, &pre);
}

void gemm_builtin_packed_b(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A,
                           int lda, const float* B, int ldb, const float* packed_b, float beta,
                           float* C, int ldc) {
  const gemm_detail::Kernels<float>& kr = active_float_kernels();
  if (M <= 1 || N <= 1 || K <= 0 || alpha == 0.0f) {  // matrix-vector / scaling: they read B
    gemm_detail::gemm_run(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemm_detail::gemm_threaded(kr, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                             packed_start(packed_b));
}

}  // namespace lstm
