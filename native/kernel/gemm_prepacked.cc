// The built-in float GEMM against an op(B) packed once (contract in gemm.h): the layout walk, the
// packers (plain, caller-filled panels, picked rows) and the products over it. The products read
// the same packed values in the same order as when the blocked path packs B itself: same bits.
#include <algorithm>
#include <cstdint>

#include "gemm_driver.h"
#include "thread_pool.h"

namespace lstm {
namespace {

const gemm_detail::Kernels<float>& active_float_kernels() {
  return gemm_detail::active_kernels<float>();
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
