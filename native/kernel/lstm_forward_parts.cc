// The pieces every LSTM forward path shares (contract in lstm_forward_parts.h).
#include "lstm_forward_parts.h"

#include <type_traits>

#include "gemm.h"
#include "thread_pool.h"

namespace lstm {

template <typename F>
Status forward_check_args(F* y, int ldy, F* ws, const F* x, const int32_t* lengths,
                          const LstmParams<F>& p, const LstmDims& d) {
  Status st = lstm_check(d, lengths);
  if (st != Status::Ok) return st;
  if (!y || !ws || !x || !p.W_ih || !p.W_hh || !p.b_ih || !p.b_hh || (d.P > 0 && !p.W_hr)) {
    return Status::NullPointer;
  }
  if (ldy < d.hout()) return Status::InvalidDims;
  return Status::Ok;
}

template <typename F>
void hoisted_input(F* G, size_t rows, const F* x, const LstmParams<F>& p, const LstmDims& d,
                   bool builtin, bool with_bias, const F* packed_w_ih) {
  const int G4 = 4 * d.H, I = d.I;
  if (with_bias) {
    F* bias = G;
    for (int j = 0; j < G4; ++j) bias[j] = p.b_ih[j] + p.b_hh[j];
    parallel_for_min(static_cast<int64_t>(rows) - 1, rows_per_thread(G4), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) copy_row(G + (r + 1) * G4, bias, G4);
    });
  }
  const F beta = with_bias ? F(1) : F(0);
  if constexpr (std::is_same_v<F, float>) {
    if (packed_w_ih) {
      gemm_builtin_packed_b(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, 1.0f, x, I, p.W_ih, I,
                            packed_w_ih, beta, G, G4);
      return;
    }
  }
  if (builtin) {
    gemm_builtin<F>(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, F(1), x, I, p.W_ih, I, beta, G, G4);
  } else {
    gemm<F>(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, F(1), x, I, p.W_ih, I, beta, G, G4);
  }
}

template <typename F>
void projection_and_y(const StepIo<F>& s, int ldy, const int32_t* lengths, const LstmParams<F>& p,
                      const LstmDims& d, bool builtin) {
  const int B = d.B, H = d.H, P = d.P, Ho = d.hout();
  if (builtin) {
    gemm_builtin<F>(Trans::No, Trans::Yes, B, P, H, F(1), s.hr, H, p.W_hr, H, F(0), s.h_cur, P);
  } else {
    gemm<F>(Trans::No, Trans::Yes, B, P, H, F(1), s.hr, H, p.W_hr, H, F(0), s.h_cur, P);
  }
  for (int b = 0; b < B; ++b) {
    F* yr = s.y + static_cast<size_t>(b) * ldy;
    if (!lengths || s.t < lengths[b]) {
      copy_row(yr, s.h_cur + b * Ho, Ho);
    } else {
      copy_row(s.h_cur + b * Ho, s.h_prev + b * Ho, Ho);
      zero_row(yr, Ho);
    }
  }
}

#define LSTM_FORWARD_PARTS_INSTANTIATE(F)                                                         \
  template Status forward_check_args<F>(F*, int, F*, const F*, const int32_t*,                   \
                                        const LstmParams<F>&, const LstmDims&);                  \
  template void hoisted_input<F>(F*, size_t, const F*, const LstmParams<F>&, const LstmDims&,    \
                                 bool, bool, const F*);                                          \
  template void projection_and_y<F>(const StepIo<F>&, int, const int32_t*, const LstmParams<F>&, \
                                    const LstmDims&, bool);
LSTM_FORWARD_PARTS_INSTANTIATE(float)
LSTM_FORWARD_PARTS_INSTANTIATE(double)
#undef LSTM_FORWARD_PARTS_INSTANTIATE

}  // namespace lstm
