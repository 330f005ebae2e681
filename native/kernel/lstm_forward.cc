// Sequence forward of one LSTM layer-direction (contract and layout in lstm.h):
//   1. G = X W_ih^T + (b_ih + b_hh)              one GEMM over all T*B rows, hoisted out of the loop
//   2. per step t:  G_t += h_{t-1} W_hh^T         one recurrent GEMM (B, 4H)
//                   fused gates (gates.h)         activations, c, tanh(c), h; kept for backward
//                   h_t = (o * tanh c) W_hr^T     only with a projection (P > 0)
// Reference: PyTorch aten/src/ATen/native/RNN.cpp (pre-computed input projection, fused cell).
// Nothing is allocated here: every buffer is a region of the caller's workspace.
#include <algorithm>
#include <cstring>

#include "gates.h"
#include "gemm.h"
#include "lstm.h"
#include "lstm_workspace.h"
#include "thread_pool.h"

namespace lstm {
namespace {

// Rows of the pointwise pass per thread below which splitting costs more than it saves.
inline int64_t rows_per_thread(int width) { return std::max<int64_t>(1, 8192 / std::max(width, 1)); }

template <typename F>
void copy_row(F* dst, const F* src, int n) { std::memcpy(dst, src, sizeof(F) * n); }

template <typename F>
void zero_row(F* dst, int n) { std::memset(dst, 0, sizeof(F) * n); }

}  // namespace

template <typename F>
Status lstm_forward(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0, const F* c0,
                    const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d) {
  Status st = lstm_check(d, lengths);
  if (st != Status::Ok) return st;
  if (!y || !ws || !x || !p.W_ih || !p.W_hh || !p.b_ih || !p.b_hh || (d.P > 0 && !p.W_hr)) {
    return Status::NullPointer;
  }
  const int T = d.T, B = d.B, I = d.I, H = d.H, P = d.P, Ho = d.hout(), G4 = 4 * H;
  if (ldy < Ho) return Status::InvalidDims;
  LstmWorkspaceLayout L;
  lstm_workspace_layout(d, &L);
  F* G = ws + L.G;    // (T, B, 4H)
  F* HS = ws + L.HS;  // (T+1, B, Hout)
  F* CS = ws + L.CS;  // (T+1, B, H)
  F* TC = ws + L.TC;  // (T, B, H)
  F* HR = ws + L.HR;  // (T, B, H) when P > 0
  const size_t rows = static_cast<size_t>(T) * B;

  // 1. Bias rows, then the hoisted input projection accumulates onto them (beta = 1).
  F* bias = G;
  for (int j = 0; j < G4; ++j) bias[j] = p.b_ih[j] + p.b_hh[j];
  parallel_for_min(static_cast<int64_t>(rows) - 1, rows_per_thread(G4), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) copy_row(G + (r + 1) * G4, bias, G4);
  });
  gemm<F>(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, F(1), x, I, p.W_ih, I, F(1), G, G4);

  // Initial state in the slot the first step reads.
  const int first = d.reverse ? T : 0;
  F* hs0 = HS + static_cast<size_t>(first) * B * Ho;
  F* cs0 = CS + static_cast<size_t>(first) * B * H;
  if (h0) std::memcpy(hs0, h0, sizeof(F) * B * Ho); else zero_row(hs0, B * Ho);
  if (c0) std::memcpy(cs0, c0, sizeof(F) * B * H); else zero_row(cs0, B * H);

  const GatesForwardFn<F> gates = gates_forward<F>();
  for (int k = 0; k < T; ++k) {
    const int t = d.reverse ? T - 1 - k : k;
    const int prev = d.reverse ? t + 1 : t;
    const int cur = d.reverse ? t : t + 1;
    F* Gt = G + static_cast<size_t>(t) * B * G4;
    const F* h_prev = HS + static_cast<size_t>(prev) * B * Ho;
    F* h_cur = HS + static_cast<size_t>(cur) * B * Ho;
    const F* c_prev = CS + static_cast<size_t>(prev) * B * H;
    F* c_cur = CS + static_cast<size_t>(cur) * B * H;
    F* tc = TC + static_cast<size_t>(t) * B * H;
    F* hr = HR + static_cast<size_t>(t) * B * H;

    // 2. Recurrent product onto the hoisted pre-activations.
    gemm<F>(Trans::No, Trans::Yes, B, G4, Ho, F(1), h_prev, Ho, p.W_hh, Ho, F(1), Gt, G4);

    // Fused gates; an item past its length keeps its state (packed-sequence semantics).
    parallel_for_min(B, rows_per_thread(G4), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const bool active = !lengths || t < lengths[b];
        if (active) {
          F* h_out = P > 0 ? hr + b * H : h_cur + b * Ho;
          gates(Gt + b * G4, c_prev + b * H, c_cur + b * H, tc + b * H, h_out, H);
        } else {
          copy_row(c_cur + b * H, c_prev + b * H, H);
          if (P == 0) copy_row(h_cur + b * Ho, h_prev + b * Ho, Ho);
          // Kept finite so that backward's products with zero gradients stay zero.
          zero_row(Gt + b * G4, G4);
          zero_row(tc + b * H, H);
          if (P > 0) zero_row(hr + b * H, H);
        }
      }
    });

    // 3. Projection of the whole batch, then frozen items take their previous state back.
    if (P > 0) {
      gemm<F>(Trans::No, Trans::Yes, B, P, H, F(1), hr, H, p.W_hr, H, F(0), h_cur, P);
      if (lengths) {
        for (int b = 0; b < B; ++b) {
          if (t >= lengths[b]) copy_row(h_cur + b * Ho, h_prev + b * Ho, Ho);
        }
      }
    }

    // Output rows: the new h, or zero past the length.
    for (int b = 0; b < B; ++b) {
      F* yr = y + (static_cast<size_t>(t) * B + b) * ldy;
      if (!lengths || t < lengths[b]) copy_row(yr, h_cur + b * Ho, Ho); else zero_row(yr, Ho);
    }
  }

  const int last = d.reverse ? 0 : T;
  if (hn) std::memcpy(hn, HS + static_cast<size_t>(last) * B * Ho, sizeof(F) * B * Ho);
  if (cn) std::memcpy(cn, CS + static_cast<size_t>(last) * B * H, sizeof(F) * B * H);
  return Status::Ok;
}

template Status lstm_forward<float>(float*, int, float*, float*, float*, const float*, const float*,
                                    const float*, const int32_t*, const LstmParams<float>&,
                                    const LstmDims&);
template Status lstm_forward<double>(double*, int, double*, double*, double*, const double*,
                                     const double*, const double*, const int32_t*,
                                     const LstmParams<double>&, const LstmDims&);

}  // namespace lstm
