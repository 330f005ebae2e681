// The pieces every LSTM forward path shares (lstm_reference.cc, lstm_train_forward.cc,
// lstm_inference.cc, lstm_inference_chunked.cc, lstm_step.cc): the argument check, one step's
// pointers, the hoisted input product and the projection. Not part of the kernel's interface
// (lstm.h).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lstm.h"
#include "lstm_workspace.h"

namespace lstm {

// Rows of the pointwise pass per thread below which splitting costs more than it saves.
inline int64_t rows_per_thread(int width) { return std::max<int64_t>(1, 8192 / std::max(width, 1)); }

template <typename F>
void copy_row(F* dst, const F* src, int n) { std::memcpy(dst, src, sizeof(F) * n); }

template <typename F>
void zero_row(F* dst, int n) { std::memset(dst, 0, sizeof(F) * n); }

// Dims, lengths and pointers of a forward call: Ok, or the first problem found.
template <typename F>
Status forward_check_args(F* y, int ldy, F* ws, const F* x, const int32_t* lengths,
                          const LstmParams<F>& p, const LstmDims& d);

// Pointers of one step.
template <typename F>
struct StepIo {
  int t;
  F* Gt;            // (B, 4H) pre-activations in, gates out
  const F* h_prev;  // (B, Hout)
  F* h_cur;         // (B, Hout)
  const F* c_prev;  // (B, H)
  F* c_cur;         // (B, H)
  F* tc;            // (B, H)
  F* hr;            // (B, H) when P > 0
  F* y;             // row (t, 0) of y
  const F* x;       // row (t, 0) of x (B, I), read by the fused-input fast step only
};

// G (rows, 4H) = x (rows, I) W_ih^T + b_ih + b_hh, or without the bias when the step adds it
// (with_bias false: rec::bias_in_step). builtin: through gemm_builtin<F> instead of gemm<F>.
// packed_w_ih: W_ih^T packed by gemm_builtin_pack_b (float32 with the built-in GEMM only), else
// nullptr.
template <typename F>
void hoisted_input(F* G, size_t rows, const F* x, const LstmParams<F>& p, const LstmDims& d,
                   bool builtin, bool with_bias, const F* packed_w_ih = nullptr);

// Projection and the y rows after the cell (P > 0), shared by both paths.
template <typename F>
void projection_and_y(const StepIo<F>& s, int ldy, const int32_t* lengths, const LstmParams<F>& p,
                      const LstmDims& d, bool builtin);

// Step k of the training forward (time t = k, or T - 1 - k when reversed): its rows of the
// workspace's history (G, h and c at t and t + 1, tanh c, hr) and of y and x.
template <typename F>
StepIo<F> train_step_io(int k, F* ws, const LstmWorkspaceLayout& L, const LstmDims& d, F* y,
                        int ldy, const F* x) {
  const size_t T = d.T, B = d.B, H = d.H, Ho = d.hout();
  const size_t t = d.reverse ? T - 1 - k : k;
  const size_t prev = d.reverse ? t + 1 : t;
  const size_t cur = d.reverse ? t : t + 1;
  return StepIo<F>{static_cast<int>(t),
                   ws + L.G + t * B * 4 * H,
                   ws + L.HS + prev * B * Ho,
                   ws + L.HS + cur * B * Ho,
                   ws + L.CS + prev * B * H,
                   ws + L.CS + cur * B * H,
                   ws + L.TC + t * B * H,
                   ws + L.HR + t * B * H,
                   y + t * B * ldy,
                   x + t * B * d.I};
}

// h0 / c0 (zeros when null) into the state rows a forward starts from, and the state rows it ends
// with out to hn / cn (skipped when null). hs, cs: the first and the last rows of (B, Hout) and
// (B, H) floats.
template <typename F>
void state_in(F* hs, F* cs, const F* h0, const F* c0, const LstmDims& d) {
  const int B = d.B, H = d.H, Ho = d.hout();
  if (h0) std::memcpy(hs, h0, sizeof(F) * B * Ho); else zero_row(hs, B * Ho);
  if (c0) std::memcpy(cs, c0, sizeof(F) * B * H); else zero_row(cs, B * H);
}
template <typename F>
void state_out(F* hn, F* cn, const F* hs, const F* cs, const LstmDims& d) {
  if (hn) std::memcpy(hn, hs, sizeof(F) * d.B * d.hout());
  if (cn) std::memcpy(cn, cs, sizeof(F) * d.B * d.H);
}
// The rows of the first / last state in the training workspace (T + 1 rows of h and c) and the
// inference workspace (two ping-pong rows; after T steps the state is in row T & 1).
template <typename F>
F* train_h_row(F* ws, const LstmWorkspaceLayout& L, const LstmDims& d, int row) {
  return ws + L.HS + static_cast<size_t>(row) * d.B * d.hout();
}
template <typename F>
F* train_c_row(F* ws, const LstmWorkspaceLayout& L, const LstmDims& d, int row) {
  return ws + L.CS + static_cast<size_t>(row) * d.B * d.H;
}
template <typename F>
F* inference_h_row(F* ws, const LstmInferenceLayout& L, const LstmDims& d, int row) {
  return ws + L.HS + static_cast<size_t>(row & 1) * d.B * d.hout();
}
template <typename F>
F* inference_c_row(F* ws, const LstmInferenceLayout& L, const LstmDims& d, int row) {
  return ws + L.CS + static_cast<size_t>(row & 1) * d.B * d.H;
}

// Step k (time t) of lstm_forward_inference with pre-activations Gt: h and c ping-pong between
// two slots (step k reads slot k & 1 and writes the other), TC and HR are one block of rows
// rewritten every step, and y and x are the rows of time t.
template <typename F>
StepIo<F> inference_step_io(int k, int t, F* Gt, F* ws, const LstmInferenceLayout& L,
                            const LstmDims& d, F* y, int ldy, const F* x) {
  const size_t B = d.B, H = d.H, Ho = d.hout(), cur = k & 1, nxt = (k + 1) & 1;
  F* HS = ws + L.HS;
  F* CS = ws + L.CS;
  return StepIo<F>{t,
                   Gt,
                   HS + cur * B * Ho,
                   HS + nxt * B * Ho,
                   CS + cur * B * H,
                   CS + nxt * B * H,
                   ws + L.TC,
                   ws + L.HR,
                   y + static_cast<size_t>(t) * B * ldy,
                   x + static_cast<size_t>(t) * B * d.I};
}

// lstm_forward_inference by the reference step (lstm_reference.cc): double, and float with the
// fast path off. Arguments as lstm_forward_inference; already checked.
template <typename F>
Status lstm_forward_inference_reference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x,
                                        const F* h0, const F* c0, const int32_t* lengths,
                                        const LstmParams<F>& p, const LstmDims& d);

}  // namespace lstm
