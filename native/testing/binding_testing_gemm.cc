// Test hook for the GEMM seam (test addon only; typed in test/helpers/testing-addon.ts):
//   _gemm(which, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
// C = alpha * op(A) * op(B) + beta * C, row-major as in native/kernel/gemm.h, run synchronously on
// the caller's memory (no copies) with one implementation:
//   which = 'builtin'  the built-in blocked GEMM (kernels of the active ISA)
//           'openblas' OpenBLAS through CBLAS; an Error (ERR_LSTM_NO_OPENBLAS) when not linked
//           'default'  whatever gemm() uses in this build
//           'builtin-packed'  the built-in GEMM with op(B) packed first by gemm_builtin_pack_b
//                      (float32 only), as the LSTM's chunked input product runs it
// And _gemmPackedCols (see below): op(B) packed from picked rows of B, the product computed in
// column ranges (the LSTM's chunked input product inside its step job).
// A, B and C are all Float32Array or all Float64Array. Every buffer is checked against its dims and
// leading dimension before the kernel runs: op(A) is (M, K), stored (M, K) or, transposed, (K, M);
// a stored (rows, cols) matrix with leading dimension ld needs ld >= max(1, cols) and at least
// (rows - 1) * ld + cols elements (none when rows or cols is 0).
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <algorithm>
#include <vector>

#include "binding_util.h"
#include "gemm.h"
#include "test_hooks.h"

namespace lstm_binding {
namespace {

enum class Which { Builtin, OpenBlas, Default, BuiltinPacked };

constexpr int64_t kMaxDim = INT32_MAX;

// A stored (rows, cols) operand: its leading dimension and its typed array, both checked.
struct Operand {
  const char* name;     // "A"
  const char* ld_name;  // "lda"
  int64_t rows, cols;
  const char* rows_name;  // "M" / "K" / "N": for the messages
  const char* cols_name;
};

// Elements a stored (rows, cols) matrix with leading dimension ld spans.
size_t span(int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return static_cast<size_t>((rows - 1) * ld + cols);
}

// The leading dimension argument: an integer >= max(1, cols).
int ld_arg(CallContext& ctx, const Napi::Value& v, const Operand& op) {
  int ld = ctx.int_arg(v, op.ld_name, 1, kMaxDim);
  if (!ctx.ok()) return 0;
  if (ld < op.cols) {
    std::ostringstream s;
    s << op.ld_name << " must be >= " << op.cols << " (the " << op.cols_name << " columns of "
      << op.name << " as stored), got " << ld;
    ctx.range_error(s.str());
  }
  return ld;
}

template <typename F>
F* operand_array(CallContext& ctx, const Napi::Value& v, const Operand& op, int ld) {
  if (!ctx.ok()) return nullptr;
  std::ostringstream what;
  if (op.rows == 0 || op.cols == 0) {
    what << op.name << " is empty: " << op.rows_name << " or " << op.cols_name << " is 0";
  } else {
    what << "(" << op.rows_name << "-1)*" << op.ld_name << " + " << op.cols_name << " = (" << op.rows
         << "-1)*" << ld << " + " << op.cols;
  }
  const std::string w = what.str();
  return ctx.array<F>(v, op.name, span(op.rows, op.cols, ld), w.c_str(), false, false);
}

template <typename F>
void run(CallContext& ctx, const Napi::CallbackInfo& info, Which which, bool ta, bool tb, int M,
         int N, int K) {
  const Operand a{"A", "lda", ta ? K : M, ta ? M : K, ta ? "K" : "M", ta ? "M" : "K"};
  const Operand b{"B", "ldb", tb ? N : K, tb ? K : N, tb ? "N" : "K", tb ? "K" : "N"};
  const Operand c{"C", "ldc", M, N, "M", "N"};
  const double alpha = ctx.number_arg(info[6], "alpha");
  const double beta = ctx.number_arg(info[11], "beta");
  const int lda = ld_arg(ctx, info[8], a);
  const int ldb = ld_arg(ctx, info[10], b);
  const int ldc = ld_arg(ctx, info[13], c);
  const F* A = operand_array<F>(ctx, info[7], a, lda);
  const F* B = operand_array<F>(ctx, info[9], b, ldb);
  F* C = operand_array<F>(ctx, info[12], c, ldc);
  if (!ctx.ok()) return;
  if (which == Which::OpenBlas && !lstm::gemm_have_openblas()) {
    throw_error(ctx.env(),
                std::string(ctx.fn()) +
                    ": which 'openblas' is not available: this build does not link OpenBLAS "
                    "(built with LSTM_NATIVE_BLAS=builtin, or OpenBLAS was not found); "
                    "backend is '" + lstm::gemm_backend_name() + "'",
                "ERR_LSTM_NO_OPENBLAS");
    return;
  }
  const lstm::Trans tA = ta ? lstm::Trans::Yes : lstm::Trans::No;
  const lstm::Trans tB = tb ? lstm::Trans::Yes : lstm::Trans::No;
  const F al = static_cast<F>(alpha), be = static_cast<F>(beta);
  switch (which) {
    case Which::Builtin:
      lstm::gemm_builtin<F>(tA, tB, M, N, K, al, A, lda, B, ldb, be, C, ldc);
      break;
    case Which::OpenBlas:
      lstm::gemm_openblas<F>(tA, tB, M, N, K, al, A, lda, B, ldb, be, C, ldc);
      break;
    case Which::Default:
      lstm::gemm<F>(tA, tB, M, N, K, al, A, lda, B, ldb, be, C, ldc);
      break;
    case Which::BuiltinPacked:
      if constexpr (std::is_same_v<F, float>) {
        std::vector<float> packed(lstm::gemm_builtin_packed_b_size(N, K));
        lstm::gemm_builtin_pack_b(tB, N, K, B, ldb, packed.data());
        lstm::gemm_builtin_packed_b(tA, tB, M, N, K, al, A, lda, B, ldb, packed.data(), be, C, ldc);
      }
      break;
  }
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_gemm");
  const std::string w = ctx.string_arg(info[0], "which");
  Which which = Which::Default;
  if (ctx.ok()) {
    if (w == "builtin") which = Which::Builtin;
    else if (w == "openblas") which = Which::OpenBlas;
    else if (w == "default") which = Which::Default;
    else if (w == "builtin-packed") which = Which::BuiltinPacked;
    else ctx.range_error("which must be 'builtin', 'openblas', 'default' or 'builtin-packed', got '" + w + "'");
  }
  const bool ta = ctx.bool_arg(info[1], "transA");
  const bool tb = ctx.bool_arg(info[2], "transB");
  const int M = ctx.int_arg(info[3], "M", 0, kMaxDim);
  const int N = ctx.int_arg(info[4], "N", 0, kMaxDim);
  const int K = ctx.int_arg(info[5], "K", 0, kMaxDim);
  const DType dt = ctx.dtype_of(info[7], "A");
  if (!ctx.ok()) return env.Undefined();
  if (which == Which::BuiltinPacked && dt != DType::F32) {
    ctx.type_error("A must be a Float32Array for which 'builtin-packed' (a float32 path), got a Float64Array");
    return env.Undefined();
  }
  if (dt == DType::F32) run<float>(ctx, info, which, ta, tb, M, N, K);
  else run<double>(ctx, info, which, ta, tb, M, N, K);
  return env.Undefined();
}

// _gemmPackedCols(M, N, K, A, B, rows, parts, beta, C, noScratch): C (M, N) = A (M, K) op(B) +
// beta C with op(B) packed by gemm_builtin_pack_b_rows from B (stored (R, K), rows of K) with column
// j = row rows[j] of B (-1: zeros), then computed in `parts` column ranges cut at multiples of
// gemm_builtin_packed_b_col_align(), one gemm_builtin_packed_b_cols call each, as the LSTM's
// threads do. noScratch: as if the A blocks' memory could not be allocated. Float32 only.
Napi::Value GemmPackedCols(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_gemmPackedCols");
  const int M = ctx.int_arg(info[0], "M", 1, 1 << 20);
  const int N = ctx.int_arg(info[1], "N", 1, 1 << 20);
  const int K = ctx.int_arg(info[2], "K", 1, 1 << 20);
  const int parts = ctx.int_arg(info[6], "parts", 1, 64);
  const double beta = ctx.number_arg(info[7], "beta");
  const bool no_scratch = ctx.bool_arg(info[9], "noScratch");
  if (!ctx.ok()) return env.Undefined();
  const float* A = ctx.array<float>(info[3], "A", static_cast<size_t>(M) * K, "M*K");
  const int32_t* rows = ctx.array<int32_t>(info[5], "rows", static_cast<size_t>(N), "N");
  float* C = ctx.array<float>(info[8], "C", static_cast<size_t>(M) * N, "M*N");
  if (!ctx.ok()) return env.Undefined();
  const Napi::Value bv = info[4];
  const size_t b_len = bv.IsTypedArray() ? bv.As<Napi::TypedArray>().ElementLength() : 0;
  const float* B = ctx.array<float>(bv, "B", b_len - b_len % K, "a multiple of K", false, false);
  if (!ctx.ok()) return env.Undefined();
  const int64_t b_rows = static_cast<int64_t>(b_len / K);
  for (int j = 0; j < N; ++j) {
    if (rows[j] < -1 || rows[j] >= b_rows) {
      ctx.range_error("rows[" + std::to_string(j) + "] must be -1 or a row of B (0.." +
                      std::to_string(b_rows - 1) + "), got " + std::to_string(rows[j]));
      return env.Undefined();
    }
  }
  struct Map {
    const int32_t* rows;
  } map{rows};
  auto row_of = [](void* c, int j) { return static_cast<int>(static_cast<Map*>(c)->rows[j]); };
  std::vector<float> packed(lstm::gemm_builtin_packed_b_size(N, K));
  lstm::gemm_builtin_pack_b_rows(N, K, B, K, row_of, &map, packed.data());
  const int align = lstm::gemm_builtin_packed_b_col_align();
  const int units = (N + align - 1) / align;
  lstm::gemm_builtin_test_no_a_scratch(no_scratch);
  for (int i = 0; i < parts; ++i) {
    const int n0 = static_cast<int>(static_cast<int64_t>(units) * i / parts) * align;
    const int n1 = std::min(N, static_cast<int>(static_cast<int64_t>(units) * (i + 1) / parts) * align);
    lstm::gemm_builtin_packed_b_cols(M, N, K, A, K, packed.data(), n0, n1, static_cast<float>(beta),
                                     C, N);
  }
  lstm::gemm_builtin_test_no_a_scratch(false);
  return env.Undefined();
}

}  // namespace

void RegisterGemmTesting(Napi::Env env, Napi::Object exports) {
  exports.Set("_gemm", Napi::Function::New(env, Gemm, "_gemm"));
  exports.Set("_gemmPackedCols", Napi::Function::New(env, GemmPackedCols, "_gemmPackedCols"));
}

}  // namespace lstm_binding
