// The fast LSTM step's portable kernels (contract in lstm_recurrent.h): the scalar tile, GEMV and
// packing kernels (the LSTM_NATIVE_ISA=scalar answer and the non-x86 fallback), and rec_kernels(),
// the ISA table's set (isa_table.h).
#include <cstring>

#include "isa_table.h"
#include "lstm_recurrent.h"

namespace lstm {
namespace rec {
namespace {

void tile16_scalar(int K, const float* a, ptrdiff_t lda, int mr, const float* p, ptrdiff_t ldp,
                   float* s, ptrdiff_t lds) {
  for (int r = 0; r < mr; ++r) {
    float acc[16] = {};
    const float* ar = a + r * lda;
    for (int k = 0; k < K; ++k) {
      const float av = ar[k];
      const float* pk = p + k * ldp;
      for (int c = 0; c < 16; ++c) acc[c] += av * pk[c];
    }
    std::memcpy(s + r * lds, acc, sizeof(acc));
  }
}

void tile16x2_scalar(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2,
                     const float* a2, ptrdiff_t lda2, const float* p2, ptrdiff_t ldp,
                     const float* bias, int mr, float* s, ptrdiff_t lds) {
  for (int r = 0; r < mr; ++r) {
    float acc[16];
    for (int c = 0; c < 16; ++c) acc[c] = bias[c];
    const float* ar = a1 + r * lda1;
    for (int k = 0; k < K1; ++k) {
      const float av = ar[k];
      const float* pk = p1 + k * ldp;
      for (int c = 0; c < 16; ++c) acc[c] += av * pk[c];
    }
    ar = a2 + r * lda2;
    for (int k = 0; k < K2; ++k) {
      const float av = ar[k];
      const float* pk = p2 + k * ldp;
      for (int c = 0; c < 16; ++c) acc[c] += av * pk[c];
    }
    std::memcpy(s + r * lds, acc, sizeof(acc));
  }
}

void dot_rows_scalar(int rows, int K, const float* m, ptrdiff_t ldm, const float* x, float* y) {
  for (int i = 0; i < rows; ++i) {
    const float* mi = m + i * ldm;
    float d = 0;
    for (int k = 0; k < K; ++k) d += mi[k] * x[k];
    y[i] = d;
  }
}

void pack16_scalar(int K, const float* const* rows, float* dst) {
  for (int c = 0; c < 16; ++c) {
    const float* src = rows[c];
    if (src) {
      for (int k = 0; k < K; ++k) dst[static_cast<size_t>(k) * 16 + c] = src[k];
    } else {
      for (int k = 0; k < K; ++k) dst[static_cast<size_t>(k) * 16 + c] = 0.0f;
    }
  }
}

}  // namespace

const RecKernels rec_kernels_scalar = {"scalar",         &tile16_scalar, &tile16x2_scalar,
                                       &dot_rows_scalar, nullptr,        nullptr,
                                       nullptr,          nullptr,        &pack16_scalar};

const RecKernels& rec_kernels() { return *isa_table().step; }

}  // namespace rec
}  // namespace lstm
