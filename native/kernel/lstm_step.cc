// The fast float32 LSTM step (contract in lstm_step.h).
#include "lstm_step.h"

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "lstm_recurrent.h"

namespace lstm {
namespace {

// Short copies (<= 8 floats) inside the fast step: a loop, not a libc call.
inline void copy_short(float* dst, const float* src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

}  // namespace

FastStep::FastStep(const LstmParams<float>& p, const LstmDims& d, int ldy, const int32_t* lengths,
                   float* pk, bool fused, bool inference, bool blocked_g)
    : k_(rec::rec_kernels()), gates_(gates_forward<float>()), p_(p), d_(d), ldy_(ldy),
      lengths_(lengths), B_(d.B), H_(d.H), Ho_(d.hout()), P_(d.P), G4_(4 * d.H), I_(d.I),
      nb_((d.H + rec::kUnits - 1) / rec::kUnits), gemv_(d.B == 1), fused_(fused && d.B > 1),
      inference_(inference), bias_in_step_(!fused_ && !gemv_),
      ldg_(blocked_g ? rec::blocked_cols(H_) : G4_), gate_stride_(blocked_g ? rec::kUnits : H_),
      block_cols_(blocked_g ? rec::kFwdCols : rec::kUnits), pk_(pk) {
  if (!gemv_) rec::pack_fwd(p.W_hh, H_, Ho_, pk_);
  if (fused_) {
    pki_ = pk_ + rec::packed_fwd_size(H_, Ho_);
    pkb_ = pki_ + rec::packed_fwd_size(H_, I_);
    rec::pack_fwd(p.W_ih, H_, I_, pki_);
    rec::pack_bias(p.b_ih, p.b_hh, H_, pkb_);
  } else if (bias_in_step_) {
    pkb_ = pk_ + rec::packed_fwd_size(H_, Ho_);
    rec::pack_bias(p.b_ih, p.b_hh, H_, pkb_);
  }
  const double flops = 2.0 * B_ * G4_ * (Ho_ + (fused_ ? I_ : 0));
  rows_split_ = !gemv_ && rec::split_rows(B_, H_, Ho_ + (fused_ ? I_ : 0));
  slices_ = rec::slice_count(rows_split_ ? (B_ + rec::kTileRows - 1) / rec::kTileRows : nb_, flops);
}

void FastStep::run(const StepIo<float>& s, const StepIo<float>* next) {
  auto fn = [&](int slice) { run_slice(slice, s, next); };
  rec::run_slices(slices_, fn);
  if (P_ > 0) projection_and_y(s, ldy_, lengths_, p_, d_, rec::lstm_use_builtin_gemm());
}

void FastStep::run_rows(int r0, int r1, const StepIo<float>& s, const StepIo<float>* next) const {
  for (int jb = 0; jb < nb_; ++jb) block(jb, nb_, s, next, r0, r1);
}

void FastStep::run_slice(int slice, const StepIo<float>& s, const StepIo<float>* next) const {
  if (rows_split_) {
    run_rows(rec::even_cut(B_, slices_, slice), rec::even_cut(B_, slices_, slice + 1), s, next);
    return;
  }
  run_units(rec::even_cut(nb_, slices_, slice), rec::even_cut(nb_, slices_, slice + 1), s, next);
}

void FastStep::run_units(int b0, int b1, const StepIo<float>& s, const StepIo<float>* next) const {
  if (gemv_ && k_.dot8 && k_.gates_fwd8 && (!lengths_ || s.t < lengths_[0])) {
    // Batch 1: the matrix-vector products of a group of blocks first, then one epilogue call
    // over the group, its blocks as independent "rows" (one block's cell alone is a chain of
    // dependent operations the CPU cannot overlap with anything).
    const int full_end = std::min(b1, H_ / rec::kUnits);  // blocks of 8 whole units
    for (int g0 = b0; g0 < full_end; g0 += kGemvGroup) {
      const int g1 = std::min(full_end, g0 + kGemvGroup);
      gemv_group(g0, g1, s);
    }
    for (int jb = std::max(b0, full_end); jb < b1; ++jb) block(jb, b1, s, next, 0, B_);
    return;
  }
  for (int jb = b0; jb < b1; ++jb) block(jb, b1, s, next, 0, B_);
}

void FastStep::gemv_group(int g0, int g1, const StepIo<float>& s) const {
  const int H = H_, Ho = Ho_;
  alignas(64) float acc[kGemvGroup * rec::kFwdCols];
  for (int jb = g0; jb < g1; ++jb) {
    const int j0 = jb * rec::kUnits;
    for (int g = 0; g < 4; ++g) {
      k_.dot8(Ho, p_.W_hh + (static_cast<size_t>(g) * H + j0) * Ho, Ho, s.h_prev,
              acc + (jb - g0) * rec::kFwdCols + g * rec::kUnits);
    }
  }
  const int j0 = g0 * rec::kUnits, u = rec::kUnits;
  const bool proj = P_ > 0;
  k_.gates_fwd8(g1 - g0, acc, s.Gt + j0, u, H, s.c_prev + j0, s.c_cur + j0,
                inference_ ? nullptr : s.tc + j0, u, (proj ? s.hr : s.h_cur) + j0, u,
                proj ? nullptr : s.y + j0, u);
}

void FastStep::prefetch_rows(const StepIo<float>& s, int b0, int b1, int j0) const {
  const bool touch_g = fused_ && !inference_;  // fused inference: G neither read nor written
  for (int b = b0; b < b1; ++b) {
    const float* G = s.Gt + static_cast<size_t>(b) * ldg_ + gcol(j0);
    if (touch_g) for (int g = 0; g < 4; ++g) __builtin_prefetch(G + g * gate_stride_, 1, 3);
    const size_t bh = static_cast<size_t>(b) * H_ + j0;
    __builtin_prefetch(s.c_cur + bh, 1, 3);
    if (!inference_) __builtin_prefetch(s.tc + bh, 1, 3);
    if (P_ == 0) {
      __builtin_prefetch(s.h_cur + static_cast<size_t>(b) * Ho_ + j0, 1, 3);
      __builtin_prefetch(s.y + static_cast<size_t>(b) * ldy_ + j0, 1, 3);
    }
  }
}

void FastStep::prefetch_g(const StepIo<float>& s, int b0, int b1, int j0) const {
  for (int b = b0; b < b1; ++b) {
    const float* G = s.Gt + static_cast<size_t>(b) * ldg_ + gcol(j0);
    for (int g = 0; g < 4; ++g) __builtin_prefetch(G + g * gate_stride_, 0, 2);
  }
}

void FastStep::block(int jb, int jb_end, const StepIo<float>& s, const StepIo<float>* next, int rb0, int rb1) const {
  const int H = H_, Ho = Ho_, t = s.t;
  const ptrdiff_t ldg = ldg_, gs = gate_stride_;
  const int j0 = jb * rec::kUnits, nu = std::min(rec::kUnits, H - j0);
  const float* panel = pk_ + static_cast<size_t>(jb) * rec::kFwdCols * Ho;
  alignas(64) float acc[kChunk * rec::kFwdCols];
  alignas(64) float a[rec::kFwdCols];
  // Chunks and tiles of equal size (rec::for_even_parts): the same bits however rows are split.
  rec::for_even_parts(rb0, rb1, kChunk, [&](int r0, int r1) {
    if (gemv_) {
      for (int g = 0; g < 4; ++g) {
        const float* rows = p_.W_hh + (static_cast<size_t>(g) * H + j0) * Ho;
        if (k_.dot8 && nu == rec::kUnits) {
          k_.dot8(Ho, rows, Ho, s.h_prev, acc + g * rec::kUnits);
        } else {
          k_.dot_rows(nu, Ho, rows, Ho, s.h_prev, acc + g * rec::kUnits);
        }
      }
    } else {
      for (int half = 0; half < 2; ++half) {
        rec::for_even_parts(r0, r1, rec::kTileRows, [&](int r, int r_end) {
          const int mr = r_end - r;
          if (half == 0 && next) prefetch_rows(*next, r, r + mr, j0);
          if (half == 0 && !fused_ && jb + 1 < jb_end) prefetch_g(s, r, r + mr, j0 + rec::kUnits);
          float* ar = acc + (r - r0) * rec::kFwdCols + 16 * half;
          const float* hp = panel + static_cast<size_t>(half) * rec::kHalfCols * Ho;
          if (fused_) {
            const float* ip = pki_ + (static_cast<size_t>(jb) * 2 + half) * rec::kHalfCols * I_;
            k_.tile16x2(I_, s.x + static_cast<size_t>(r) * I_, I_, ip, Ho,
                        s.h_prev + static_cast<size_t>(r) * Ho, Ho, hp, rec::kHalfCols,
                        pkb_ + jb * rec::kFwdCols + 16 * half, mr, ar, rec::kFwdCols);
          } else {
            // The accumulators start from the bias (no input part: K1 = 0).
            k_.tile16x2(0, nullptr, 0, nullptr, Ho, s.h_prev + static_cast<size_t>(r) * Ho, Ho, hp,
                        rec::kHalfCols, pkb_ + jb * rec::kFwdCols + 16 * half, mr, ar, rec::kFwdCols);
          }
        });
      }
    }
    int b = r0;
    const rec::GatesFwd8Fn fwd8 = fused_ ? k_.gates_fwd8_acc : k_.gates_fwd8;
    if (fwd8 && nu == rec::kUnits) {
      // The leading run of active rows through the fused epilogue; any rest below, row by row.
      int e = b;
      while (e < r1 && (!lengths_ || t < lengths_[e])) ++e;
      if (e > b) {
        const size_t bh = static_cast<size_t>(b) * H + j0;
        const bool proj = P_ > 0;
        fwd8(e - b, acc + (b - r0) * rec::kFwdCols,
             s.Gt + static_cast<size_t>(b) * ldg + gcol(j0), ldg, static_cast<int>(gs),
             s.c_prev + bh, s.c_cur + bh, inference_ ? nullptr : s.tc + bh, H,
             proj ? s.hr + bh : s.h_cur + static_cast<size_t>(b) * Ho + j0, proj ? H : Ho,
             proj ? nullptr : s.y + static_cast<size_t>(b) * ldy_ + j0, ldy_);
        b = e;
      }
    }
    for (; b < r1; ++b) {
      float* G = s.Gt + static_cast<size_t>(b) * ldg + gcol(j0);  // this block's gate 0
      const size_t bh = static_cast<size_t>(b) * H + j0;
      const size_t bo = static_cast<size_t>(b) * Ho + j0;
      float* yr = s.y + static_cast<size_t>(b) * ldy_ + j0;
      if (!lengths_ || t < lengths_[b]) {
        const float* sr = acc + (b - r0) * rec::kFwdCols;
        for (int g = 0; g < 4; ++g) {
          for (int u = 0; u < nu; ++u) {
            const float acc_gu = sr[g * rec::kUnits + u];
            a[g * nu + u] = fused_ ? acc_gu : G[g * gs + u] + acc_gu;
          }
        }
        float* h_out = P_ > 0 ? s.hr + bh : s.h_cur + bo;
        gates_(a, s.c_prev + bh, s.c_cur + bh, s.tc + bh, h_out, nu);
        for (int g = 0; g < 4; ++g) copy_short(G + g * gs, a + g * nu, nu);
        if (P_ == 0) copy_short(yr, h_out, nu);
      } else {
        copy_row(s.c_cur + bh, s.c_prev + bh, nu);
        for (int g = 0; g < 4; ++g) zero_row(G + g * gs, nu);
        zero_row(s.tc + bh, nu);
        if (P_ > 0) {
          zero_row(s.hr + bh, nu);
        } else {
          copy_row(s.h_cur + bo, s.h_prev + bo, nu);
          zero_row(yr, nu);
        }
      }
    }
  });
}

}  // namespace lstm
