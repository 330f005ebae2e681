// The reference LSTM forward (contract in lstm.h): the formulas in their plainest order, the
// oracle the fast float32 path (lstm_step.cc) is tested against, and the path double always takes.
//   1. G = X W_ih^T + (b_ih + b_hh)              one GEMM over all rows, hoisted out of the loop
//   2. per step t:  G_t += h_{t-1} W_hh^T         one recurrent GEMM (B, 4H) through gemm<F>()
//                   fused gates (gates.h)         activations, c, tanh(c), h; kept for backward
//                   h_t = (o * tanh c) W_hr^T     only with a projection (P > 0)
// Reference: PyTorch aten/src/ATen/native/RNN.cpp (pre-computed input projection, fused cell).
// Nothing is allocated here: every buffer is a region of the caller's workspace.
#include <algorithm>
#include <cstring>

#include "gates.h"
#include "gemm.h"
#include "lstm.h"
#include "lstm_forward_parts.h"
#include "lstm_workspace.h"
#include "thread_pool.h"

namespace lstm {
namespace {

// One step of the reference path.
template <typename F>
void reference_step(const StepIo<F>& s, int ldy, const int32_t* lengths, const LstmParams<F>& p,
                    const LstmDims& d, GatesForwardFn<F> gates) {
  const int B = d.B, H = d.H, P = d.P, Ho = d.hout(), G4 = 4 * H, t = s.t;
  gemm<F>(Trans::No, Trans::Yes, B, G4, Ho, F(1), s.h_prev, Ho, p.W_hh, Ho, F(1), s.Gt, G4);
  parallel_for_min(B, rows_per_thread(G4), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const bool active = !lengths || t < lengths[b];
      if (active) {
        F* h_out = P > 0 ? s.hr + b * H : s.h_cur + b * Ho;
        gates(s.Gt + b * G4, s.c_prev + b * H, s.c_cur + b * H, s.tc + b * H, h_out, H);
      } else {
        copy_row(s.c_cur + b * H, s.c_prev + b * H, H);
        if (P == 0) copy_row(s.h_cur + b * Ho, s.h_prev + b * Ho, Ho);
        // Kept finite so that backward's products with zero gradients stay zero.
        zero_row(s.Gt + b * G4, G4);
        zero_row(s.tc + b * H, H);
        if (P > 0) zero_row(s.hr + b * H, H);
      }
    }
  });
  if (P > 0) {
    projection_and_y(s, ldy, lengths, p, d, false);
  } else {
    for (int b = 0; b < B; ++b) {
      F* yr = s.y + static_cast<size_t>(b) * ldy;
      if (!lengths || t < lengths[b]) copy_row(yr, s.h_cur + b * Ho, Ho); else zero_row(yr, Ho);
    }
  }
}

}  // namespace

template <typename F>
Status lstm_forward_reference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                              const F* c0, const int32_t* lengths, const LstmParams<F>& p,
                              const LstmDims& d) {
  Status st = forward_check_args(y, ldy, ws, x, lengths, p, d);
  if (st != Status::Ok) return st;
  const PoolBurst burst;  // many pool jobs back to back: no thread sleeps between them
  const int T = d.T, first = d.reverse ? T : 0, last = d.reverse ? 0 : T;
  LstmWorkspaceLayout L;
  lstm_workspace_layout(d, &L);
  hoisted_input(ws + L.G, static_cast<size_t>(T) * d.B, x, p, d, /*builtin=*/false,
                /*with_bias=*/true);
  state_in(train_h_row(ws, L, d, first), train_c_row(ws, L, d, first), h0, c0, d);
  const GatesForwardFn<F> gates = gates_forward<F>();
  for (int k = 0; k < T; ++k) {
    reference_step(train_step_io(k, ws, L, d, y, ldy, x), ldy, lengths, p, d, gates);
  }
  state_out<F>(hn, cn, train_h_row(ws, L, d, last), train_c_row(ws, L, d, last), d);
  return Status::Ok;
}

// The inference workspace holds the hoisted product of Tc steps at a time: it is computed chunk
// by chunk, each chunk just before its steps.
template <typename F>
Status lstm_forward_inference_reference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x,
                                        const F* h0, const F* c0, const int32_t* lengths,
                                        const LstmParams<F>& p, const LstmDims& d) {
  const int T = d.T, B = d.B, I = d.I, G4 = 4 * d.H;
  LstmInferenceLayout L;
  lstm_inference_layout(d, &L);
  F* G = ws + L.G;  // (Tc, B, 4H)
  state_in(inference_h_row(ws, L, d, 0), inference_c_row(ws, L, d, 0), h0, c0, d);
  const GatesForwardFn<F> gates = gates_forward<F>();
  for (int k0 = 0; k0 < T; k0 += L.Tc) {
    const int n = std::min(L.Tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;  // the chunk covers times [tlo, tlo + n)
    hoisted_input(G, static_cast<size_t>(n) * B, x + static_cast<size_t>(tlo) * B * I, p, d,
                  /*builtin=*/false, /*with_bias=*/true);
    for (int k = k0; k < k0 + n; ++k) {
      const int t = d.reverse ? T - 1 - k : k;
      F* Gt = G + static_cast<size_t>(t - tlo) * B * G4;
      reference_step(inference_step_io(k, t, Gt, ws, L, d, y, ldy, x), ldy, lengths, p, d, gates);
    }
  }
  state_out<F>(hn, cn, inference_h_row(ws, L, d, T), inference_c_row(ws, L, d, T), d);
  return Status::Ok;
}

#define LSTM_REFERENCE_INSTANTIATE(NAME, F)                                                      \
  template Status NAME<F>(F*, int, F*, F*, F*, const F*, const F*, const F*, const int32_t*,  \
                          const LstmParams<F>&, const LstmDims&);
LSTM_REFERENCE_INSTANTIATE(lstm_forward_reference, float)
LSTM_REFERENCE_INSTANTIATE(lstm_forward_reference, double)
LSTM_REFERENCE_INSTANTIATE(lstm_forward_inference_reference, float)
LSTM_REFERENCE_INSTANTIATE(lstm_forward_inference_reference, double)
#undef LSTM_REFERENCE_INSTANTIATE

}  // namespace lstm
