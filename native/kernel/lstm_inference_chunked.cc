// lstm_forward_inference's fast path with each chunk's input product inside the steps' pool job
// (contract in lstm_step.h): per chunk of Tc steps, one extra "step" in which each thread computes
// the G columns of its own unit blocks, then the chunk's steps (FastStep::run_chunked). No job,
// and no wait for the slower thread's share, between a product and its steps; and G holds each
// block's 4 gates side by side, so the epilogue reads 2 adjacent lines of G per row and block
// instead of 4 lines 4H floats apart.
#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "lstm_forward_parts.h"
#include "lstm_recurrent.h"
#include "lstm_step.h"
#include "lstm_workspace.h"

namespace lstm {

// lstm_forward_inference's fast path with each chunk's input product inside the steps' pool job
// (FastStep::run_chunked): W_ih^T packed once with each block of 8 units' 4 gates side by side
// (G's column j is W_ih's row rec::blocked_gate_row(H, j)), and each thread computing the
// columns of its own unit blocks. h0 / c0 are already in HS[0] / CS[0].
void inference_chunks_in_steps(FastStep& step, float* y, int ldy, float* hn, float* cn, float* ws,
                               const float* x, const LstmParams<float>& p, const LstmDims& d,
                               const LstmInferenceLayout& L) {
  const int T = d.T, B = d.B, I = d.I, H = d.H, Tc = L.Tc;
  const int ldg = rec::blocked_cols(H);
  float* G = ws + L.G;    // (Tc, B, ldg)
  float* packed_w_ih = ws + L.PKI;
  if (gemm_builtin_packed_b_col_align() == rec::kHalfCols) {
    // A panel of 16 columns is a half panel of the step's layout: rec's 16-row packer.
    struct Src {
      const float* W;
      int H, I;
    } src{p.W_ih, H, I};
    auto fill = [](void* c, int j0, int p0, int kc, float* panel) {
      const Src& s = *static_cast<const Src*>(c);
      const float* rows[rec::kHalfCols];
      rec::half_panel_rows(s.W, s.H, s.I, j0 / rec::kFwdCols, j0 % rec::kFwdCols / rec::kHalfCols,
                           p0, rows);
      rec::rec_kernels().pack16(kc, rows, panel);
    };
    gemm_builtin_pack_b_panels(ldg, I, packed_w_ih, fill, &src);
  } else {
    auto w_ih_row = [](void* ctx, int j) {
      return rec::blocked_gate_row(*static_cast<const int*>(ctx), j);
    };
    int h_ctx = H;
    gemm_builtin_pack_b_rows(ldg, I, p.W_ih, I, w_ih_row, &h_ctx, packed_w_ih);
  }
  // The chunk of steps k0 .. k0 + n - 1 covers times [tlo, tlo + n); columns of blocks [b0, b1).
  auto hoist = [&](int k0, int n, int b0, int b1) {
    const int tlo = d.reverse ? T - k0 - n : k0;
    gemm_builtin_packed_b_cols(n * B, ldg, I, x + static_cast<size_t>(tlo) * B * I, I, packed_w_ih,
                               b0 * rec::kFwdCols, b1 * rec::kFwdCols, 0.0f, G, ldg);
  };
  auto io = [&](int k) {
    const int t = d.reverse ? T - 1 - k : k;
    const int k0 = k / Tc * Tc, n = std::min(Tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;
    return inference_step_io(k, t, G + static_cast<size_t>(t - tlo) * B * ldg, ws, L, d, y, ldy, x);
  };
  step.run_chunked(T, Tc, hoist, io);
  state_out<float>(hn, cn, inference_h_row(ws, L, d, T), inference_c_row(ws, L, d, T), d);
}

}  // namespace lstm
