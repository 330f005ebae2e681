// Packing of the fast LSTM step's weights (layouts and contract in lstm_recurrent.h): W_hh (and
// W_ih when the input is fused) into the forward's gate-interleaved half panels, the bias in the
// same order, and W_hh into the backward's column panels.
#include <algorithm>
#include <cstring>

#include "lstm_recurrent.h"
#include "thread_pool.h"

namespace lstm {
namespace rec {

// Sizes are computed in size_t: H and Hout come from callers before the dims are range-checked
// (lstm_workspace_size), and H + kUnits - 1 in int overflows for H near INT32_MAX.
size_t packed_fwd_size(int H, int Hout) {
  return (static_cast<size_t>(H) + kUnits - 1) / kUnits * kFwdCols * static_cast<size_t>(Hout);
}
size_t packed_bwd_size(int H, int Hout) {
  return (static_cast<size_t>(Hout) + kBwdCols - 1) / kBwdCols * kBwdCols * 4 * static_cast<size_t>(H);
}

size_t packed_bias_size(int H) { return (static_cast<size_t>(H) + kUnits - 1) / kUnits * kFwdCols; }

size_t packed_in_size(int H, int I) { return packed_fwd_size(H, I) + packed_bias_size(H); }

void pack_bias(const float* b_ih, const float* b_hh, int H, float* pbias) {
  const int nb = (H + kUnits - 1) / kUnits;
  for (int jb = 0; jb < nb; ++jb) {
    for (int g = 0; g < 4; ++g) {
      for (int u = 0; u < kUnits; ++u) {
        const int j = jb * kUnits + u;
        const size_t gj = static_cast<size_t>(g) * H + j;
        pbias[jb * kFwdCols + g * kUnits + u] = j < H ? b_ih[gj] + b_hh[gj] : 0.0f;
      }
    }
  }
}

void half_panel_rows(const float* W, int H, int ld, int jb, int half, int k0,
                     const float* rows[16]) {
  for (int c = 0; c < kHalfCols; ++c) {
    const int r = blocked_gate_row(H, jb * kFwdCols + half * kHalfCols + c);
    rows[c] = r >= 0 ? W + static_cast<size_t>(r) * ld + k0 : nullptr;
  }
}

void pack_fwd(const float* W_hh, int H, int Hout, float* pf) {
  const int nb = (H + kUnits - 1) / kUnits;
  const size_t panel = static_cast<size_t>(kFwdCols) * Hout;
  const Pack16Fn pack16 = rec_kernels().pack16;
  parallel_for_min(nb, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t jb = b0; jb < b1; ++jb) {
      for (int half = 0; half < 2; ++half) {  // gates (i, f) | (g, o)
        const float* rows[kHalfCols];
        half_panel_rows(W_hh, H, Hout, static_cast<int>(jb), half, 0, rows);
        pack16(Hout, rows, pf + jb * panel + static_cast<size_t>(half) * kHalfCols * Hout);
      }
    }
  });
}

void pack_bwd(const float* W_hh, int H, int Hout, float* pb) {
  const int nb = (Hout + kBwdCols - 1) / kBwdCols;
  const int G4 = 4 * H;
  const size_t panel = static_cast<size_t>(kBwdCols) * G4;
  parallel_for_min(nb, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t cb = b0; cb < b1; ++cb) {
      float* dst = pb + cb * panel;
      const int c0 = static_cast<int>(cb) * kBwdCols;
      const int nc = std::min(kBwdCols, Hout - c0);
      for (int g = 0; g < G4; ++g) {
        const float* src = W_hh + static_cast<size_t>(g) * Hout + c0;
        float* d = dst + static_cast<size_t>(g) * kBwdCols;
        std::memcpy(d, src, sizeof(float) * nc);
        for (int c = nc; c < kBwdCols; ++c) d[c] = 0.0f;
      }
    }
  });
}

}  // namespace rec
}  // namespace lstm
