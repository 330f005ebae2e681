// BPTT of one LSTM layer-direction, the mirror of lstm_forward.cc (contract and layout in lstm.h):
//   per step, in the opposite order of forward:
//     dh += dy_t                                     (active items only)
//     dhr = dh W_hr, dHP_t = dh                      only with a projection
//     fused gates backward (gates.h) -> dG_t, dc     c and gates saved by forward
//     dh  = dG_t W_hh                                the recurrent product, for the previous step
//   then the weight gradients as large GEMMs over all T*B rows at once:
//     dW_ih += dG^T X   dW_hh += dG^T H_prev   db += colsum(dG)   dX += dG W_ih   dW_hr += dHP^T HR
// Frozen items (past their length) get dG = 0 and pass dh, dc through unchanged.
#include <algorithm>
#include <cstring>

#include "gates.h"
#include "gemm.h"
#include "lstm.h"
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

}  // namespace

template <typename F>
Status lstm_backward(F* dx, F* dh0, F* dc0, const LstmParamGrads<F>& g, F* ws, const F* dy,
                     int ldy, const F* dhn, const F* dcn, const F* x, const int32_t* lengths,
                     const LstmParams<F>& p, const LstmDims& d) {
  Status st = lstm_check(d, lengths);
  if (st != Status::Ok) return st;
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

  const GatesBackwardFn<F> gates = gates_backward<F>();
  for (int k = T - 1; k >= 0; --k) {
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
  gemm<F>(Trans::Yes, Trans::No, G4, I, rows, F(1), dG, G4, x, I, F(1), g.dW_ih, I);
  gemm<F>(Trans::Yes, Trans::No, G4, Ho, rows, F(1), dG, G4, H_prev, Ho, F(1), g.dW_hh, Ho);
  if (P > 0) gemm<F>(Trans::Yes, Trans::No, P, H, rows, F(1), dHP, P, HR, H, F(1), g.dW_hr, H);
  if (dx) gemm<F>(Trans::No, Trans::No, rows, I, G4, F(1), dG, G4, p.W_ih, I, F(1), dx, I);

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

template Status lstm_backward<float>(float*, float*, float*, const LstmParamGrads<float>&, float*,
                                     const float*, int, const float*, const float*, const float*,
                                     const int32_t*, const LstmParams<float>&, const LstmDims&);
template Status lstm_backward<double>(double*, double*, double*, const LstmParamGrads<double>&,
                                      double*, const double*, int, const double*, const double*,
                                      const double*, const int32_t*, const LstmParams<double>&,
                                      const LstmDims&);

}  // namespace lstm
