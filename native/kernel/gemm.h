// The GEMM seam: every matrix product in the kernel goes through gemm<F>().
//
//   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C        all row-major, like cblas
//
// op(A) = A (M, K) with leading dimension lda when ta == Trans::No, or A^T where A is stored
// (K, M) when ta == Trans::Yes; the same for B. beta == 0 means C is overwritten (never read, so it
// may hold NaN). M, N or K == 0 is valid: with K == 0, C = beta * C.
//
// Two implementations sit behind it:
//   - OpenBLAS through CBLAS when CMake found it (LSTM_NATIVE_HAVE_OPENBLAS) and the build was not
//     told LSTM_NATIVE_BLAS=builtin;
//   - the built-in cache-blocked GEMM (gemm_driver.h), with SIMD micro-kernels chosen at run time,
//     always compiled so tests can compare the two.
#pragma once

#include <cstddef>

namespace lstm {

enum class Trans : int { No = 0, Yes = 1 };

// The configured backend (OpenBLAS when linked, the built-in GEMM otherwise).
template <typename F>
void gemm(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
          int ldb, F beta, F* C, int ldc);

// The built-in implementation, callable directly (tests compare it with OpenBLAS).
template <typename F>
void gemm_builtin(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                  const F* B, int ldb, F beta, F* C, int ldc);

// The built-in float GEMM with op(B) (K, N) packed once for several products against the same B
// (the LSTM's input product, hoisted chunk by chunk over time, always against W_ih^T): same bits as
// gemm_builtin<float>. packed_b holds gemm_builtin_packed_b_size(N, K) floats (any alignment: the
// packed data starts at its first 64-byte boundary, the size has room for that) written by
// gemm_builtin_pack_b with the same tb, N, K and B; B itself is still passed: products the
// matrix-vector path takes (M or N of 1) read it instead.
size_t gemm_builtin_packed_b_size(int N, int K);
void gemm_builtin_pack_b(Trans tb, int N, int K, const float* B, int ldb, float* packed_b);
void gemm_builtin_packed_b(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A,
                           int lda, const float* B, int ldb, const float* packed_b, float beta,
                           float* C, int ldc);
// The same packing for op(B) = W^T with W's rows picked by row(ctx, j) for column j of op(B) (a
// negative row: a column of zeros). The LSTM's input product uses it to place each block of 8
// hidden units' 4 gates side by side in G.
void gemm_builtin_pack_b_rows(int N, int K, const float* W, int ldw, int (*row)(void* ctx, int j),
                              void* ctx, float* packed_b);
// The same layout filled by the caller, panel by panel (in parallel): fill(ctx, j0, p0, kc, panel)
// writes panel[k * NR + c] = op(B)(p0 + k, j0 + c) for k < kc and c < NR =
// gemm_builtin_packed_b_col_align() (zeros for columns past N).
void gemm_builtin_pack_b_panels(int N, int K, float* packed_b,
                                void (*fill)(void* ctx, int j0, int p0, int kc, float* panel),
                                void* ctx);
// C[:, n0:n1) = A op(B)[:, n0:n1) + beta C[:, n0:n1) with op(B) (K, N) packed by any packer
// above and op(A) = A (M, K), on the calling thread only: for callers that split the columns among
// their own threads. n0 must be a multiple of gemm_builtin_packed_b_col_align(). The same bits as
// the whole product.
int gemm_builtin_packed_b_col_align();
void gemm_builtin_packed_b_cols(int M, int N, int K, const float* A, int lda,
                                const float* packed_b, int n0, int n1, float beta, float* C,
                                int ldc);
// True when OpenBLAS is linked; then gemm_openblas() may be called.
bool gemm_have_openblas();
template <typename F>
void gemm_openblas(Trans ta, Trans tb, int M, int N, int K, F alpha, const F* A, int lda,
                   const F* B, int ldb, F beta, F* C, int ldc);

// "openblas" or "builtin": what gemm() uses.
const char* gemm_backend_name();

// Threads for the BLAS library (no-op for the built-in GEMM, which uses the kernel's thread pool).
void gemm_set_blas_threads(int n);

}  // namespace lstm
