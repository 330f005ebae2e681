// Internals of the built-in GEMM: the kernel-set contract shared by the driver (gemm_driver.h and
// its files) and the per-ISA files gemm_builtin_avx2.cc / gemm_builtin_avx512.cc
// (register-blocked micro-kernels, panel packing and GEMV kernels compiled with their own flags).
// Not part of the kernel's interface: use gemm.h.
//
// Packed layouts (BLIS/GotoBLAS): an A micro-panel holds MR rows of op(A) for kc steps of k,
// a[k * MR + r]; a B micro-panel holds NR columns of op(B), b[k * NR + c]. Panels at the bottom or
// right edge are zero-padded to the full MR / NR, so micro-kernels always run full tiles in
// registers and only the store is partial.
#pragma once

#include <cstddef>

#include "cpu_features.h"
#include "gemm.h"

namespace lstm {
namespace gemm_detail {

constexpr int kMaxMr = 8;
// The largest kc block a kernel set may ask for (a kernel set with a larger kc is not used): the
// products against a prepacked B fall back to one A micro-panel on the stack (kMaxMr x kMaxKc)
// when there is no memory for the A block.
constexpr int kMaxKc = 512;

// C[0:R, 0:nr] = alpha * sum_k a[k*MR + r] * b[k*NR + c] + beta * C[r, c], for the R rows this
// entry was instantiated for (micro[R]); beta == 0 never reads C. nr <= NR.
template <typename F>
using MicroKernel = void (*)(int kc, const F* a, const F* b, F* c, ptrdiff_t ldc, F alpha, F beta,
                             int nr);

// Packs rows [i0, i0+mr) x k in [p0, p0+kc) of op(A) into one micro-panel (mr <= MR, zero-padded).
template <typename F>
using PackA = void (*)(Trans ta, const F* A, ptrdiff_t lda, int i0, int mr, int p0, int kc, F* dst);
// Packs k in [p0, p0+kc) x columns [j0, j0+ncols) of op(B) into ceil(ncols/NR) consecutive
// micro-panels of kc*NR elements, the last one zero-padded. Several panels per call let a packer
// read longer runs of each row of B.
template <typename F>
using PackB = void (*)(Trans tb, const F* B, ptrdiff_t ldb, int p0, int kc, int j0, int ncols,
                       F* dst);

// y[i * incy] = alpha * dot(m[i*ldm : i*ldm + K], x) + beta * y[i * incy], i < rows. x contiguous.
template <typename F>
using GemvDot = void (*)(int rows, int K, F alpha, const F* m, ptrdiff_t ldm, const F* x, F beta,
                         F* y, ptrdiff_t incy);
// y[j] = alpha * sum_k x[k] * m[k*ldm + j] + beta * y[j], j < cols. x and y contiguous.
template <typename F>
using GemvAxpy = void (*)(int K, int cols, F alpha, const F* m, ptrdiff_t ldm, const F* x, F beta,
                          F* y);

template <typename F>
struct Kernels {
  const char* name = "";
  int mr = 0, nr = 0;          // register tile
  int kc = 0, mc = 0, nc = 0;  // cache blocks: kc (L1), mc rows of A (L2), nc columns of B (L3)
  MicroKernel<F> micro[kMaxMr + 1] = {};  // micro[r] for r = 1..mr
  PackA<F> pack_a = nullptr;  // nullptr: the portable packer
  PackB<F> pack_b = nullptr;
  GemvDot<F> gemv_dot = nullptr;
  GemvAxpy<F> gemv_axpy = nullptr;
};

// Fill `k` (default-constructed by the caller) with one ISA's kernels; false when that variant is
// not compiled into this build. The ISA files only assign fields: no inline function of this
// header's types gets instantiated under AVX flags, where the linker could pick that copy for
// everyone.
bool kernels_avx2(Kernels<float>* k);
bool kernels_avx2(Kernels<double>* k);
bool kernels_avx512(Kernels<float>* k);
bool kernels_avx512(Kernels<double>* k);

// The built-in GEMM with a given ISA's kernels (Isa::Scalar always works; an ISA that is not
// compiled in or not supported by this CPU falls back to the best one that is). For tests and
// benchmarks; gemm_builtin() uses active_isa().
template <typename F>
void gemm_builtin_isa(Isa isa, Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                      const F* B, int ldb, F beta, F* C, int ldc);

// The built-in GEMM driver with caller-supplied kernels (null packers / GEMV filled in with the
// portable ones); false when the set is incomplete. Lets a test run a kernel set through the
// real blocking and threading, e.g. the AVX-512 templates emulated with AVX2 vectors.
template <typename F>
bool gemm_with_kernels(const Kernels<F>& k, Trans ta, Trans tb, int M, int N, int K, F alpha,
                       const F* A, int lda, const F* B, int ldb, F beta, F* C, int ldc);

// The ISA whose kernels gemm_builtin() uses.
Isa gemm_builtin_active_isa();

}  // namespace gemm_detail
}  // namespace lstm
