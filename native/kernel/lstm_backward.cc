// BPTT of one LSTM layer-direction, the mirror of the training forward (lstm_train_forward.cc;
// contract and layout in lstm.h):
//   per step, in the opposite order of forward:
//     dh += dy_t                                     (active items only)
//     dhr = dh W_hr, dHP_t = dh                      only with a projection
//     fused gates backward (gates.h) -> dG_t, dc     c and gates saved by forward
//     dh  = dG_t W_hh                                the recurrent product, for the previous step
//   then the weight gradients as large GEMMs over all T*B rows at once:
//     dW_ih += dG^T X   dW_hh += dG^T H_prev   db += colsum(dG)   dX += dG W_ih   dW_hr += dHP^T HR
// Frozen items (past their length) get dG = 0 and pass dh, dc through unchanged.
//
// That is the reference path (double; float with LSTM_NATIVE_LSTM_PATH=reference; float with a
// projection). The fast float32 path (P == 0) reorders it: W_hh is packed once per call into
// column panels (lstm_recurrent.h); with rec::split_rows (as the forward) each thread runs all
// units of its batch rows through every step in ONE pool job (a row's dh needs only its own dG;
// rows move to a thread that runs out of work, rec::run_row_steps), otherwise one pool job with a
// barrier after every step in which each thread owns the same range of blocks of 16 hidden units
// (its panels stay in its L2; rec::run_block_steps moves the cuts when a thread runs slower).
// Either way, for a thread's units and rows,
//   dh[:, units] = dG_{t+1} W_hh[:, units]     6x16 register tiles over K = 4H (the previous
//                                              step's dG is complete: the step barrier)
//   dh += dy_t, fused gates backward           on the tile while it is in L1 -> dG_t, dc
//                                              (AVX2: rec_kernels().gates_bwd16, no copies)
// and the weight gradients stay large GEMMs over all T*B rows.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "gates.h"
#include "gemm.h"
#include "lstm.h"
#include "lstm_recurrent.h"
#include "lstm_workspace.h"
#include "thread_pool.h"

namespace lstm {
namespace {

inline int64_t rows_per_thread(int width) { return std::max<int64_t>(1, 8192 / std::max(width, 1)); }

template <typename F>
void zero_row(F* dst, int n) { std::memset(dst, 0, sizeof(F) * n); }

template <typename F>
void add_row(F* dst, const F* src, int n) {
  for (int j = 0; j < n; ++j) dst[j] += src[j];
}

// The per-step part of the fast float32 path (P == 0).
class FastBackward {
 public:
  // What step index s = 0, 1, ... works on: dh = dGn W_hh for the items active at time tn (when
  // dGn), then the gates backward of time t (when t >= 0) writing dGt.
  struct Step {
    const float* dGn;
    int tn, t;
    float* dGt;
    const float* Gt;
    const float* c_prev;
    const float* tc;
  };

  FastBackward(const LstmDims& d, const int32_t* lengths, const float* pb, float* dh, float* dc,
               const float* dy, int ldy)
      : k_(rec::rec_kernels()), gates_(gates_backward<float>()), lengths_(lengths), B_(d.B),
        H_(d.H), G4_(4 * d.H), nb_((d.H + rec::kBwdCols - 1) / rec::kBwdCols), pb_(pb), dh_(dh),
        dc_(dc), dy_(dy), ldy_(ldy) {
    // As the forward: batch rows when every thread gets 8 or more and W_hh is small enough for
    // each thread to stream it in full (rec::split_rows; K of the forward's tile = Hout = H).
    rows_split_ = B_ > 1 && rec::split_rows(B_, H_, H_);
    slices_ = rec::slice_count(rows_split_ ? (B_ + rec::kTileRows - 1) / rec::kTileRows : nb_,
                               2.0 * B_ * G4_ * H_);
  }

  // Steps 0 .. steps-1, step(s) describing each. Batch rows: one pool job for all steps (a row's
  // dh depends only on its own dG), rows moving to idle threads (rec::run_row_steps). Hidden
  // units: one job as well, with a barrier after every step (every unit's dh reads all 4H gates
  // of the step before; rec::run_block_steps, its cuts following the threads' speeds).
  template <class StepOf>
  void run(int steps, const StepOf& step) {
    if (rows_split_) {
      auto rows = [&](int r0, int r1, int s) {
        const Step st = step(s);
        for (int cb = 0; cb < nb_; ++cb) block(cb, st, r0, r1);
      };
      rec::run_row_steps(B_, slices_, steps, rec::kMinSplitRows, rows);
      return;
    }
    auto units = [&](int b0, int b1, int s) {
      const Step st = step(s);
      for (int cb = b0; cb < b1; ++cb) block(cb, st, 0, B_);
    };
    rec::run_block_steps(nb_, slices_, steps, units);
  }

 private:
  static constexpr int kChunk = 48;  // at most this many rows per pass over a panel

  // Rows [rb0, rb1) of column block cb at one step.
  void block(int cb, const Step& st, int rb0, int rb1) const {
    const int H = H_, G4 = G4_, c0 = cb * rec::kBwdCols, nc = std::min(rec::kBwdCols, H - c0);
    const float* panel = pb_ + static_cast<size_t>(cb) * rec::kBwdCols * G4;
    alignas(64) float acc[kChunk * rec::kBwdCols];
    alignas(64) float gs[4 * rec::kBwdCols];
    alignas(64) float da[4 * rec::kBwdCols];
    // Chunks and tiles of equal size (rec::for_even_parts): the same bits however rows are split.
    rec::for_even_parts(rb0, rb1, kChunk, [&](int r0, int r1) {
      if (st.dGn) {
        rec::for_even_parts(r0, r1, rec::kTileRows, [&](int r, int r_end) {
          k_.tile16(G4, st.dGn + static_cast<size_t>(r) * G4, G4, r_end - r, panel, rec::kBwdCols,
                    acc + (r - r0) * rec::kBwdCols, rec::kBwdCols);
        });
        for (int b = r0; b < r1; ++b) {
          if (!lengths_ || st.tn < lengths_[b]) {
            std::memcpy(dh_ + static_cast<size_t>(b) * H + c0, acc + (b - r0) * rec::kBwdCols,
                        sizeof(float) * nc);
          }
        }
      }
      if (st.t < 0) return;
      const int t = st.t;
      for (int b = r0; b < r1; ++b) {
        float* dGr = st.dGt + static_cast<size_t>(b) * G4;
        if (lengths_ && t >= lengths_[b]) {
          for (int g = 0; g < 4; ++g) zero_row(dGr + g * H + c0, nc);
          continue;
        }
        const size_t bh = static_cast<size_t>(b) * H + c0;
        float* dhr = dh_ + bh;
        if (k_.gates_bwd16 && nc == rec::kBwdCols) {
          k_.gates_bwd16(dhr, dy_ ? dy_ + (static_cast<size_t>(t) * B_ + b) * ldy_ + c0 : nullptr,
                         st.Gt + static_cast<size_t>(b) * G4 + c0, H, st.c_prev + bh, st.tc + bh,
                         dc_ + bh, dGr + c0);
          continue;
        }
        if (dy_) {
          const float* dyr = dy_ + (static_cast<size_t>(t) * B_ + b) * ldy_ + c0;
          for (int u = 0; u < nc; ++u) dhr[u] += dyr[u];
        }
        const float* Gr = st.Gt + static_cast<size_t>(b) * G4;
        for (int g = 0; g < 4; ++g) std::memcpy(gs + g * nc, Gr + g * H + c0, sizeof(float) * nc);
        gates_(da, dc_ + bh, gs, st.c_prev + bh, st.tc + bh, dhr, dc_ + bh, nc);
        for (int g = 0; g < 4; ++g) std::memcpy(dGr + g * H + c0, da + g * nc, sizeof(float) * nc);
      }
    });
  }

  const rec::RecKernels& k_;
  const GatesBackwardFn<float> gates_;
  const int32_t* lengths_;
  const int B_, H_, G4_, nb_;
  const float* pb_;
  float* dh_;
  float* dc_;
  const float* dy_;
  const int ldy_;
  int slices_ = 1;
  bool rows_split_ = false;
};

template <typename F>
Status backward_impl(bool fast, F* dx, F* dh0, F* dc0, const LstmParamGrads<F>& g, F* ws, const F* dy,
                     int ldy, const F* dhn, const F* dcn, const F* x, const int32_t* lengths,
                     const LstmParams<F>& p, const LstmDims& d) {
  Status st = lstm_check(d, lengths);
  if (st != Status::Ok) return st;
  const PoolBurst burst;  // many pool jobs back to back: no thread sleeps between them
  if (!ws || !x || !p.W_ih || !p.W_hh || !g.dW_ih || !g.dW_hh || !g.db_ih || !g.db_hh ||
      (d.P > 0 && (!p.W_hr || !g.dW_hr))) {
    return Status::NullPointer;
  }
  const int T = d.T, B = d.B, I = d.I, H = d.H, P = d.P, Ho = d.hout(), G4 = 4 * H;
  if (dy && ldy < Ho) return Status::InvalidDims;
  LstmWorkspaceLayout L;
  lstm_workspace_layout(d, &L);
  const F* G = ws + L.G;    // (T, B, 4H) activated gates
  const F* HS = ws + L.HS;  // (T+1, B, Hout)
  const F* CS = ws + L.CS;  // (T+1, B, H)
  const F* TC = ws + L.TC;  // (T, B, H)
  const F* HR = ws + L.HR;  // (T, B, H) when P > 0
  F* dG = ws + L.dG;        // (T, B, 4H)
  F* dHP = ws + L.dHP;      // (T, B, P) when P > 0
  F* dh = ws + L.dh;        // (B, Hout)
  F* dc = ws + L.dc;        // (B, H)
  F* dhr = ws + L.dhr;      // (B, H)
  F* dht = ws + L.dht;      // (B, Hout)
  F* db = ws + L.db;        // (4H)
  const int rows = T * B;

  if (dhn) std::memcpy(dh, dhn, sizeof(F) * B * Ho); else zero_row(dh, B * Ho);
  if (dcn) std::memcpy(dc, dcn, sizeof(F) * B * H); else zero_row(dc, B * H);

  fast = fast && std::is_same_v<F, float> && P == 0;
  const bool builtin = fast && rec::lstm_use_builtin_gemm();
  if constexpr (std::is_same_v<F, float>) {
    if (fast) {
      rec::pack_bwd(p.W_hh, H, Ho, ws + L.PK);
      FastBackward fb(d, lengths, ws + L.PK, dh, dc, dy, ldy);
      auto time = [&](int k) { return d.reverse ? T - 1 - k : k; };
      // Step s handles k = T - 1 - s (processing order), the last one (k = -1) only dh.
      auto step = [&](int s) {
        const int k = T - 1 - s;
        const int tn = time(k + 1);  // the step processed before this one (when k + 1 < T)
        FastBackward::Step st{k + 1 < T ? dG + static_cast<size_t>(tn) * B * G4 : nullptr, tn, -1,
                              nullptr, nullptr, nullptr, nullptr};
        if (k >= 0) {
          const int t = time(k);
          const int prev = d.reverse ? t + 1 : t;
          st.t = t;
          st.dGt = dG + static_cast<size_t>(t) * B * G4;
          st.Gt = G + static_cast<size_t>(t) * B * G4;
          st.c_prev = CS + static_cast<size_t>(prev) * B * H;
          st.tc = TC + static_cast<size_t>(t) * B * H;
        }
        return st;
      };
      fb.run(T + 1, step);
    }
  }
  const GatesBackwardFn<F> gates = gates_backward<F>();
  for (int k = T - 1; k >= 0 && !fast; --k) {
    const int t = d.reverse ? T - 1 - k : k;
    const int prev = d.reverse ? t + 1 : t;
    const F* Gt = G + static_cast<size_t>(t) * B * G4;
    F* dGt = dG + static_cast<size_t>(t) * B * G4;
    const F* c_prev = CS + static_cast<size_t>(prev) * B * H;
    const F* tc = TC + static_cast<size_t>(t) * B * H;

    if (dy) {
      for (int b = 0; b < B; ++b) {
        if (!lengths || t < lengths[b]) add_row(dh + b * Ho, dy + (static_cast<size_t>(t) * B + b) * ldy, Ho);
      }
    }
    // Through the projection: dHP_t keeps dh for dW_hr; dhr is the gradient before it.
    if (P > 0) {
      F* dHPt = dHP + static_cast<size_t>(t) * B * P;
      for (int b = 0; b < B; ++b) {
        if (!lengths || t < lengths[b]) std::memcpy(dHPt + b * P, dh + b * P, sizeof(F) * P);
        else zero_row(dHPt + b * P, P);
      }
      gemm<F>(Trans::No, Trans::No, B, H, P, F(1), dh, P, p.W_hr, H, F(0), dhr, H);
    }
    const F* dh_cell = P > 0 ? dhr : dh;

    parallel_for_min(B, rows_per_thread(G4), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        if (!lengths || t < lengths[b]) {
          gates(dGt + b * G4, dc + b * H, Gt + b * G4, c_prev + b * H, tc + b * H, dh_cell + b * H,
                dc + b * H, H);
        } else {
          zero_row(dGt + b * G4, G4);
        }
      }
    });

    // dh for the previous step; frozen items keep theirs.
    if (!lengths) {
      gemm<F>(Trans::No, Trans::No, B, Ho, G4, F(1), dGt, G4, p.W_hh, Ho, F(0), dh, Ho);
    } else {
      gemm<F>(Trans::No, Trans::No, B, Ho, G4, F(1), dGt, G4, p.W_hh, Ho, F(0), dht, Ho);
      for (int b = 0; b < B; ++b) {
        if (t < lengths[b]) std::memcpy(dh + b * Ho, dht + b * Ho, sizeof(F) * Ho);
      }
    }
  }

  if (dh0) add_row(dh0, dh, B * Ho);
  if (dc0) add_row(dc0, dc, B * H);

  // Weight gradients over all steps at once. H_prev in time order is one contiguous block.
  const F* H_prev = HS + (d.reverse ? static_cast<size_t>(B) * Ho : 0);
  auto mm = builtin ? &gemm_builtin<F> : &gemm<F>;
  mm(Trans::Yes, Trans::No, G4, I, rows, F(1), dG, G4, x, I, F(1), g.dW_ih, I);
  mm(Trans::Yes, Trans::No, G4, Ho, rows, F(1), dG, G4, H_prev, Ho, F(1), g.dW_hh, Ho);
  if (P > 0) mm(Trans::Yes, Trans::No, P, H, rows, F(1), dHP, P, HR, H, F(1), g.dW_hr, H);
  if (dx) mm(Trans::No, Trans::No, rows, I, G4, F(1), dG, G4, p.W_ih, I, F(1), dx, I);

  // Bias gradient: column sums of dG, split over columns so threads never share an output.
  parallel_for_min(G4, 64, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) db[j] = 0;
    for (int r = 0; r < rows; ++r) {
      const F* row = dG + static_cast<size_t>(r) * G4;
      for (int64_t j = j0; j < j1; ++j) db[j] += row[j];
    }
  });
  add_row(g.db_ih, db, G4);
  add_row(g.db_hh, db, G4);
  return Status::Ok;
}

}  // namespace

template <typename F>
Status lstm_backward(F* dx, F* dh0, F* dc0, const LstmParamGrads<F>& g, F* ws, const F* dy,
                     int ldy, const F* dhn, const F* dcn, const F* x, const int32_t* lengths,
                     const LstmParams<F>& p, const LstmDims& d) {
  return backward_impl<F>(rec::fast_path_enabled(), dx, dh0, dc0, g, ws, dy, ldy, dhn, dcn, x,
                          lengths, p, d);
}

template <typename F>
Status lstm_backward_reference(F* dx, F* dh0, F* dc0, const LstmParamGrads<F>& g, F* ws,
                               const F* dy, int ldy, const F* dhn, const F* dcn, const F* x,
                               const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d) {
  return backward_impl<F>(false, dx, dh0, dc0, g, ws, dy, ldy, dhn, dcn, x, lengths, p, d);
}

#define LSTM_BACKWARD_INSTANTIATE(NAME, F)                                                        \
  template Status NAME<F>(F*, F*, F*, const LstmParamGrads<F>&, F*, const F*, int, const F*,     \
                          const F*, const F*, const int32_t*, const LstmParams<F>&, const LstmDims&);
LSTM_BACKWARD_INSTANTIATE(lstm_backward, float)
LSTM_BACKWARD_INSTANTIATE(lstm_backward, double)
LSTM_BACKWARD_INSTANTIATE(lstm_backward_reference, float)
LSTM_BACKWARD_INSTANTIATE(lstm_backward_reference, double)
#undef LSTM_BACKWARD_INSTANTIATE

}  // namespace lstm
