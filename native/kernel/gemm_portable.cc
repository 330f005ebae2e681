// The built-in GEMM's portable kernels (contract in gemm_builtin.h): a 4x8 register tile in plain
// loops the compiler may vectorise for the baseline ISA, generic packers for kernel sets that bring
// none of their own, and the scalar GEMV kernels. They run wherever no SIMD set applies, and fill
// the gaps of the SIMD sets (complete_kernels).
#include <algorithm>

#include "gemm_builtin.h"
#include "gemm_driver.h"

namespace lstm {
namespace gemm_detail {
namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

template <typename F>
bool complete_kernels(Kernels<F>* k) {
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

template void kernels_scalar<float>(Kernels<float>*);
template void kernels_scalar<double>(Kernels<double>*);
template bool complete_kernels<float>(Kernels<float>*);
template bool complete_kernels<double>(Kernels<double>*);

}  // namespace gemm_detail
}  // namespace lstm
