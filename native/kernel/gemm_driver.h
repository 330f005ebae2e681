// The built-in GEMM's driver, shared by its files (not part of the kernel's interface: use
// gemm.h). How the pieces fit:
//   gemm_builtin.cc    entry points (gemm_builtin, per-ISA and caller-kernel variants): route a
//                      product to scaling, the GEMV path or the blocked path
//   gemm_blocked.cc    the BLIS/GotoBLAS blocked loops and the split of C among the pool's threads
//   gemm_gemv.cc       M == 1 or N == 1: matrix-vector kernels, no packing
//   gemm_prepacked.cc  products against an op(B) packed once (the LSTM's input product)
//   gemm_isa_table.cc  the kernel set per ISA, chosen once
//   gemm_portable.cc   the portable kernels, and completion of partial SIMD sets
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cpu_features.h"
#include "gemm.h"
#include "gemm_builtin.h"

namespace lstm {
namespace gemm_detail {

// ---- kernel sets ---------------------------------------------------------------------------------

// The portable set (4x8 tile).
template <typename F>
void kernels_scalar(Kernels<F>* k);
// Fills a set's missing packers and GEMV kernels with the portable ones; false when the set is
// still unusable (no micro-kernel for some row count, MR or kc out of range).
template <typename F>
bool complete_kernels(Kernels<F>* k);
// The complete set for `isa`, falling back towards scalar when that variant is not compiled in or
// not runnable here. Built once.
template <typename F>
const Kernels<F>& kernels_for(Isa isa);
// kernels_for(gemm_builtin_active_isa()): the ISA table's set (isa_table.h).
template <typename F>
const Kernels<F>& active_kernels();

// ---- scratch and blocking arithmetic -----------------------------------------------------------

// A grow-only 64-byte-aligned scratch buffer; each user keeps one per thread and purpose.
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

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
inline int round_up(int a, int b) { return ceil_div(a, b) * b; }

// Splits `total` into blocks of at most `max_block` of nearly equal size, a multiple of `unit`.
inline int balanced_block(int total, int max_block, int unit) {
  int n = ceil_div(total, max_block);
  return std::min(round_up(ceil_div(total, n), unit), round_up(max_block, unit));
}

// B micro-panels packed per pack_b call (on first use): 4 lets the packer read 4*NR contiguous
// elements of each row of B when op(B) is not transposed.
constexpr int kPackGroup = 4;

// The kc block size for K: packing and products must agree on it.
template <typename F>
int kc_block(const Kernels<F>& kr, int K) {
  return balanced_block(K, kr.kc, 4);
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

// ---- the paths ---------------------------------------------------------------------------------

// Correct everywhere, fast nowhere: only when a packing buffer cannot be allocated.
template <typename F>
void gemm_unpacked(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, ptrdiff_t lda,
                   const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc);

// One thread's share: the blocked loops over an (M, N) sub-problem. A, B and C point at the
// sub-problem's first row / column; pre (optional): op(B) packed already, B is then never read.
template <typename F>
void gemm_blocked(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                  const F* A, ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc,
                  const PrepackedB<F>* pre = nullptr);

// The blocked product split among the pool's threads (M, N >= 2, K >= 1); packed_b: op(B)
// prepacked (its whole width), or nullptr.
template <typename F>
void gemm_threaded(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha,
                   const F* A, ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C,
                   ptrdiff_t ldc, const F* packed_b = nullptr);

// M == 1 or N == 1: matrix-vector products, no packing.
template <typename F>
void gemv_path(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A,
               ptrdiff_t lda, const F* B, ptrdiff_t ldb, F beta, F* C, ptrdiff_t ldc);

// Any product: scaling (K == 0 or alpha == 0), the GEMV path or the threaded blocked path.
template <typename F>
void gemm_run(const Kernels<F>& kr, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A,
              int lda, const F* B, int ldb, F beta, F* C, int ldc);

}  // namespace gemm_detail
}  // namespace lstm
