// The training forward of one LSTM layer-direction (lstm_forward, contract in lstm.h): the whole
// sequence, keeping in the workspace what lstm_backward reads (G, h, c, tanh c per step).
// float32 runs the fast step (lstm_step.h); double, and float with LSTM_NATIVE_LSTM_PATH=reference,
// run the reference (lstm_reference.cc).
//
// The fast path's order:
//   - the hoisted product G = X W_ih^T through the built-in GEMM on the kernel's pool (OpenBLAS's
//     threads would keep spinning into the step loop and compete with the pool for the cores),
//     either once for all T steps or in chunks of tc steps run just before them when G is too
//     large to stay in cache over the call (else each step's epilogue waits on G_t from memory);
//   - or no hoisted product at all when the input is fused into the step tile (rec::fuse_input);
//   - the steps, all in one pool job when nothing happens between them (no chunk to hoist, no
//     projection), else one parallel region per step.
// Nothing is allocated here: every buffer is a region of the caller's workspace.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernel_config.h"
#include "lstm.h"
#include "lstm_forward_parts.h"
#include "lstm_recurrent.h"
#include "lstm_step.h"
#include "lstm_workspace.h"
#include "thread_pool.h"

namespace lstm {
namespace {

Status forward_fast(float* y, int ldy, float* hn, float* cn, float* ws, const float* x,
                    const float* h0, const float* c0, const int32_t* lengths,
                    const LstmParams<float>& p, const LstmDims& d) {
  Status st = forward_check_args(y, ldy, ws, x, lengths, p, d);
  if (st != Status::Ok) return st;
  const PoolBurst burst;  // many pool jobs back to back: no thread sleeps between them
  const int T = d.T, B = d.B, H = d.H, Ho = d.hout(), G4 = 4 * H;
  LstmWorkspaceLayout L;
  lstm_workspace_layout(d, &L);
  float* G = ws + L.G;  // (T, B, 4H)

  // The hoisted product in chunks of tc steps just before they run, so each G_t is still in cache
  // when its step reads it: 4 steps when G is too big to stay in cache across the call but 4
  // steps of it are not (larger per-step products lose more in the smaller GEMMs than they gain).
  // LSTM_NATIVE_LSTM_HOIST_STEPS overrides.
  const size_t step_bytes = sizeof(float) * static_cast<size_t>(B) * G4;
  const int tc_auto = step_bytes * T > (size_t{1} << 20) && step_bytes * 4 <= (size_t{1} << 19) ? 4 : T;
  const int tc = kernel_config().lstm_hoist_steps > 0 ? kernel_config().lstm_hoist_steps : tc_auto;
  const bool fused = rec::fuse_input(B, d.I, H, Ho);
  FastStep step(p, d, ldy, lengths, ws + L.PK, fused);
  auto hoist = [&](int k0) {  // the chunk of steps k0 .. k0 + tc - 1 (in processing order)
    const int n = std::min(tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;
    hoisted_input(G + static_cast<size_t>(tlo) * B * G4, static_cast<size_t>(n) * B,
                  x + static_cast<size_t>(tlo) * B * d.I, p, d, rec::lstm_use_builtin_gemm(),
                  /*with_bias=*/!step.bias_in_step());
  };
  if (!fused && tc >= T) {
    hoist(0);
  }

  const int first = d.reverse ? T : 0, last = d.reverse ? 0 : T;
  state_in(train_h_row(ws, L, d, first), train_c_row(ws, L, d, first), h0, c0, d);
  auto io = [&](int k) { return train_step_io(k, ws, L, d, y, ldy, x); };
  if (step.can_run_steps() && (fused || tc >= T)) {
    step.run_steps(T, io);  // nothing between the steps: one pool job for all of them
  } else {
    StepIo<float> cur = io(0);
    for (int k = 0; k < T; ++k) {
      if (!fused && tc < T && k % tc == 0) hoist(k);
      const StepIo<float> next = io(std::min(k + 1, T - 1));
      step.run(cur, k + 1 < T ? &next : nullptr);
      cur = next;
    }
  }

  state_out<float>(hn, cn, train_h_row(ws, L, d, last), train_c_row(ws, L, d, last), d);
  return Status::Ok;
}

}  // namespace

template <typename F>
Status lstm_forward(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0, const F* c0,
                    const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d) {
  if constexpr (std::is_same_v<F, float>) {
    if (rec::fast_path_enabled()) return forward_fast(y, ldy, hn, cn, ws, x, h0, c0, lengths, p, d);
  }
  return lstm_forward_reference<F>(y, ldy, hn, cn, ws, x, h0, c0, lengths, p, d);
}

template Status lstm_forward<float>(float*, int, float*, float*, float*, const float*, const float*,
                                    const float*, const int32_t*, const LstmParams<float>&,
                                    const LstmDims&);
template Status lstm_forward<double>(double*, int, double*, double*, double*, const double*,
                                     const double*, const double*, const int32_t*,
                                     const LstmParams<double>&, const LstmDims&);

}  // namespace lstm
