// Inference of one LSTM layer-direction (lstm_forward_inference, contract in lstm.h): the same
// step code as the training forward with no history kept. h and c ping-pong between two slots,
// the hoisted input product is computed per chunk of Tc steps (the workspace holds one chunk),
// and the fused epilogue skips the G and tanh(c) stores. float32 runs the fast step; double, and
// float with LSTM_NATIVE_LSTM_PATH=reference, the reference (lstm_reference.cc).
// With several chunks and the steps split by hidden units, each chunk's product runs inside the
// steps' pool job instead (lstm_inference_chunked.cc).
// Nothing is allocated here: every buffer is a region of the caller's workspace.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "gemm.h"
#include "lstm.h"
#include "lstm_forward_parts.h"
#include "lstm_recurrent.h"
#include "lstm_step.h"
#include "lstm_workspace.h"
#include "thread_pool.h"

namespace lstm {
namespace {

void inference_fast(float* y, int ldy, float* hn, float* cn, float* ws, const float* x,
                    const float* h0, const float* c0, const int32_t* lengths,
                    const LstmParams<float>& p, const LstmDims& d) {
  const int T = d.T, B = d.B, I = d.I, H = d.H, Ho = d.hout(), G4 = 4 * H;
  LstmInferenceLayout L;
  lstm_inference_layout(d, &L);
  float* G = ws + L.G;    // (Tc, B, 4H)
  const bool fused = rec::fuse_input(B, I, H, Ho);
  state_in(inference_h_row(ws, L, d, 0), inference_c_row(ws, L, d, 0), h0, c0, d);

  const bool builtin = rec::lstm_use_builtin_gemm();
  // Several chunks against one packed W_ih^T (input_prepacked: not fused) and the steps split by
  // hidden units: each chunk's product runs inside the steps' pool job, into a blocked G
  // (FastStep::run_chunked).
  const bool in_steps = builtin && L.input_prepacked && d.P == 0 && B > 1 &&
                        !rec::split_rows(B, H, Ho) &&
                        rec::kFwdCols % gemm_builtin_packed_b_col_align() == 0;
  FastStep step(p, d, ldy, lengths, ws + L.PK, fused, /*inference=*/true, in_steps);
  if (in_steps) {
    inference_chunks_in_steps(step, y, ldy, hn, cn, ws, x, p, d, L);
    return;
  }
  float* packed_w_ih = nullptr;  // W_ih^T packed once for every chunk's product
  if (builtin && L.input_prepacked) {  // input_prepacked: more than one chunk, input not fused
    packed_w_ih = ws + L.PKI;
    gemm_builtin_pack_b(Trans::Yes, G4, I, p.W_ih, I, packed_w_ih);
  }
  for (int k0 = 0; k0 < T; k0 += L.Tc) {
    const int n = std::min(L.Tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;  // the chunk covers times [tlo, tlo + n)
    if (!fused) {
      hoisted_input(G, static_cast<size_t>(n) * B, x + static_cast<size_t>(tlo) * B * I, p, d,
                    builtin, /*with_bias=*/!step.bias_in_step(), packed_w_ih);
    }
    // Step k of this chunk (G of the chunk's own rows: valid for k in [k0, k0 + n)).
    auto io = [&, k0, n, tlo](int k) {
      const int t = d.reverse ? T - 1 - k : k;
      const int tg = std::min(std::max(t - tlo, 0), n - 1);  // a step of the next chunk: never read
      return inference_step_io(k, t, G + static_cast<size_t>(tg) * B * G4, ws, L, d, y, ldy, x);
    };
    // Nothing between the steps: with no hoisted product (fused) all steps in one pool job, else
    // each chunk's steps in one (its G is complete; the next chunk's product waits for all of
    // them; a chunk of all T steps is the whole sequence in one job).
    if (step.can_run_steps()) {
      if (fused) {
        step.run_steps(T, io);
        break;
      }
      auto chunk_io = [&](int j) { return io(k0 + j); };
      step.run_steps(n, chunk_io);
      continue;
    }
    for (int k = k0; k < k0 + n; ++k) {
      const StepIo<float> s = io(k);
      // The next step's rows (y above all: fresh output memory) are prefetched during this one;
      // across a chunk boundary only when G is not read (fused), as the next chunk's G is not
      // computed yet.
      const bool has_next = k + 1 < k0 + n || (fused && k + 1 < T);
      const StepIo<float> next = io(has_next ? k + 1 : k);
      step.run(s, has_next ? &next : nullptr);
    }
  }
  state_out<float>(hn, cn, inference_h_row(ws, L, d, T), inference_c_row(ws, L, d, T), d);
}

}  // namespace

template <typename F>
Status lstm_forward_inference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                              const F* c0, const int32_t* lengths, const LstmParams<F>& p,
                              const LstmDims& d) {
  Status st = forward_check_args(y, ldy, ws, x, lengths, p, d);
  if (st != Status::Ok) return st;
  const PoolBurst burst;  // many pool jobs back to back: no thread sleeps between them
  if constexpr (std::is_same_v<F, float>) {
    if (rec::fast_path_enabled()) {
      inference_fast(y, ldy, hn, cn, ws, x, h0, c0, lengths, p, d);
      return Status::Ok;
    }
  }
  return lstm_forward_inference_reference<F>(y, ldy, hn, cn, ws, x, h0, c0, lengths, p, d);
}

template Status lstm_forward_inference<float>(float*, int, float*, float*, float*, const float*,
                                              const float*, const float*, const int32_t*,
                                              const LstmParams<float>&, const LstmDims&);
template Status lstm_forward_inference<double>(double*, int, double*, double*, double*,
                                               const double*, const double*, const double*,
                                               const int32_t*, const LstmParams<double>&,
                                               const LstmDims&);

}  // namespace lstm
