// One layer and one direction of an LSTM over a whole batch of sequences: forward and BPTT.
// Plain C++17: no Node-API, no exceptions across this boundary, no allocation per step.
//
// Dimensions (fixed letters everywhere):
//   T  sequence length (time steps)        B  batch size
//   I  input features                      H  hidden (cell) size, G = 4H
//   P  projection size (0 = none)          Hout = P > 0 ? P : H   (what h and y carry)
//
// Parameter layout: PyTorch's nn.LSTM, row-major, gate order i, f, g, o inside the 4H rows.
//   W_ih (4H, I)   W_hh (4H, Hout)   b_ih (4H)   b_hh (4H)   W_hr (P, H), only when P > 0
// lib/layers/lstm-layout.ts mirrors this comment.
//
// Activations are time-major:
//   x (T, B, I) contiguous                  y (T, B, ldy): row (t, b) starts at y + (t*B + b)*ldy,
//   h0, hn (B, Hout)   c0, cn (B, H)          Hout values are written there (so a bidirectional
//   lengths (B) int32 in [0, T], any order    layer passes y and y + Hout with ldy = 2*Hout)
//
// Variable lengths follow PyTorch's packed sequences: item b is active at step t iff t < lengths[b].
// The forward direction runs t = 0..T-1, the reverse one t = T-1..0; an inactive item's state
// stays frozen (so the reverse direction starts from h0 at t = lengths[b]-1, and the final state is
// the one at the last valid step), and its y row is zero.
//
// Gradients accumulate (+=) into every d-buffer, as in llm.c: callers zero them. That also makes
// stacked and bidirectional layers simple: both directions add into the same dx.
//
// Workspace (one buffer of lstm_workspace_size() elements, owned by the caller, reused across
// calls; the formula lives only here and is exported to TS):
//   G   (T, B, 4H)     pre-activations, then activated gates (kept for backward)
//   HS  (T+1, B, Hout) hidden states: forward dir HS[0] = h0, HS[t+1] = after step t;
//                      reverse dir HS[T] = h0, HS[t] = after step t. So the "previous h" of every
//                      step, in time order, is the contiguous block HS[0..T-1] (forward) or
//                      HS[1..T] (reverse): one GEMM gives dW_hh.
//   CS  (T+1, B, H)    cell states, same indexing as HS
//   TC  (T, B, H)      tanh(c) after step t
//   HR  (T, B, H)      o * tanh(c) before projection (only when P > 0)
//   then backward scratch:
//   dG  (T, B, 4H)     gate pre-activation gradients
//   dHP (T, B, P)      gradients of the projected h (only when P > 0; gives dW_hr in one GEMM)
//   dh  (B, Hout), dc (B, H), dhr (B, H)   carries between steps
//   dht (B, Hout)      the recurrent product dG_t W_hh before it is merged into dh
//   db  (4H)           column sums of dG (the bias gradient, before it is added to db_ih and db_hh)
//   PK  W_hh packed for the fast float32 path: max(ceil(H/8)*32*Hout [+ ceil(H/8)*32*(I+1)],
//                      ceil(Hout/16)*16*4H) elements, the bracket when the input product is fused
//                      into the step (B > 1 and 2I <= Hout, rec::fuse_input: packed W_ih and
//                      bias; layouts in lstm_recurrent.h); scratch, rewritten by every call
//
// Inference workspace (lstm_workspace_inference_size(), for lstm_forward_inference: nothing kept
// for backward, so it does not grow with T except through the chunk):
//   G   (Tc, B, 4H)    pre-activations of Tc consecutive steps (processing order), the hoisted
//                      input product is computed one chunk at a time;
//                      Tc = min(T, max(1, floor(2^21 / (B*4H)))); with more than one chunk (and
//                      the input product not fused) rows of max(4H, ceil(H/8)*32), as the fast
//                      path may place each block of 8 units' gates side by side
//   HS  (2, B, Hout)   CS (2, B, H)   ping-pong states (HS[0]/CS[0] hold h0/c0)
//   TC  (B, H)         HR (B, H) only when P > 0
//   PK  ceil(H/8)*32*Hout [+ ceil(H/8)*32*(I+1) when fused, as above]   packed W_hh [W_ih, bias]
//   PKI W_ih^T packed once for every chunk's product (more than one chunk, not fused; built-in
//                      GEMM): gemm_builtin_packed_b_size(row of G, I) elements
#pragma once

#include <cstddef>
#include <cstdint>

#include "status.h"

namespace lstm {

struct LstmDims {
  int T = 0, B = 0, I = 0, H = 0, P = 0;
  bool reverse = false;
  int hout() const { return P > 0 ? P : H; }
};

template <typename F>
struct LstmParams {
  const F* W_ih = nullptr;  // (4H, I)
  const F* W_hh = nullptr;  // (4H, Hout)
  const F* b_ih = nullptr;  // (4H)
  const F* b_hh = nullptr;  // (4H)
  const F* W_hr = nullptr;  // (P, H) or nullptr when P == 0
};

template <typename F>
struct LstmParamGrads {
  F* dW_ih = nullptr;  // (4H, I)
  F* dW_hh = nullptr;  // (4H, Hout)
  F* db_ih = nullptr;  // (4H)
  F* db_hh = nullptr;  // (4H)
  F* dW_hr = nullptr;  // (P, H) or nullptr when P == 0
};

// Elements of F the workspace needs for these dims (forward part plus backward scratch).
// Returns 0 when the dims are invalid or the size overflows.
size_t lstm_workspace_size(const LstmDims& d);
// The forward part alone (what must be kept between forward and backward).
size_t lstm_workspace_forward_size(const LstmDims& d);

// Elements of the inference-only workspace (layout above); 0 when the dims are invalid.
size_t lstm_workspace_inference_size(const LstmDims& d);

// Checks dims and lengths; Ok when a forward/backward call with them is valid.
Status lstm_check(const LstmDims& d, const int32_t* lengths);

// Forward over the whole sequence.
//   y: (T, B, ldy) out, ldy >= Hout; hn (B, Hout), cn (B, H) out (either may be nullptr).
//   x (T, B, I); h0 (B, Hout), c0 (B, H) may be nullptr (zeros); lengths (B) may be nullptr (all T).
//   ws: lstm_workspace_size(d) elements.
template <typename F>
Status lstm_forward(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0, const F* c0,
                    const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d);

// The same forward without the backward history: ws has lstm_workspace_inference_size(d)
// elements; results equal lstm_forward's to float rounding (the same per-step code).
template <typename F>
Status lstm_forward_inference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                              const F* c0, const int32_t* lengths, const LstmParams<F>& p,
                              const LstmDims& d);

// The straightforward implementations (one GEMM per step through gemm<F>(), gates.h): the
// reference the fast float32 path is tested against. lstm_forward / lstm_backward take them for
// double, and for float when LSTM_NATIVE_LSTM_PATH=reference. Same arguments and workspace.
template <typename F>
Status lstm_forward_reference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                              const F* c0, const int32_t* lengths, const LstmParams<F>& p,
                              const LstmDims& d);
template <typename F>
Status lstm_backward_reference(F* dx, F* dh0, F* dc0, const LstmParamGrads<F>& g, F* ws,
                               const F* dy, int ldy, const F* dhn, const F* dcn, const F* x,
                               const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d);

// BPTT for the forward call that filled ws (same dims, params, x, lengths).
//   dx (T, B, I), dh0 (B, Hout), dc0 (B, H) and the parameter gradients accumulate; any of
//   dx, dh0, dc0 may be nullptr when not wanted.
//   dy (T, B, ldy) (rows past a length are ignored), dhn (B, Hout), dcn (B, H): each may be nullptr
//   (zero). x and h0 are read again for the weight gradients.
template <typename F>
Status lstm_backward(F* dx, F* dh0, F* dc0, const LstmParamGrads<F>& g, F* ws, const F* dy,
                     int ldy, const F* dhn, const F* dcn, const F* x, const int32_t* lengths,
                     const LstmParams<F>& p, const LstmDims& d);

}  // namespace lstm
