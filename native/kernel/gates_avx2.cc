// The AVX2+FMA LSTM gates (float32, 8 lanes): the same formulas as gates_scalar.cc, with a vector
// exp, sigmoid and tanh accurate to a few ulp over the whole float range (measured in
// test/native/gates.test.ts).
//
// Compiled with -mavx2 -mfma (CMakeLists.txt) and called only after cpu_supports(Isa::Avx2), so:
// everything here has internal linkage, and the file includes no C++ library header. An inline
// function from a shared header (std::exp, std::min...) instantiated here would be emitted with AVX
// encodings as a weak symbol, and the linker may keep that copy for the whole program, which would
// then crash on a CPU without AVX. <immintrin.h> is safe: its intrinsics are always-inline.
//
// Dims: H hidden size; a row of pre-activations / gates is 4H wide, in the order i, f, g, o.
// The tail (H not a multiple of 8) uses maskload/maskstore: nothing past H is read or written, and a
// column's result does not depend on its position.
// Math: exp after Cephes / SLEEF (x = n ln2 + r, ln2 split hi/lo, degree-7 polynomial, 2^n from
// exponent bits); tanh after Cephes tanhf.
#if defined(LSTM_NATIVE_X86)

#include <immintrin.h>

#include "gates.h"
#include "vec_math_avx2.h"

namespace lstm {
namespace {

// Loads and stores of one block of 8 columns; kTail masks them to the first `rem` lanes.
template <bool kTail>
inline __m256 load(const float* p, __m256i mask) {
  if constexpr (kTail) return _mm256_maskload_ps(p, mask);
  else return _mm256_loadu_ps(p);
}
template <bool kTail>
inline void store(float* p, __m256i mask, __m256 v) {
  if constexpr (kTail) _mm256_maskstore_ps(p, mask, v);
  else _mm256_storeu_ps(p, v);
}
inline __m256i tail_mask(int rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Columns j..j+7 (or the masked tail). All loads happen before the first store, so the aliasing
// the scalar reference allows (c = c_prev) works here too.
template <bool kTail>
inline void forward_block(float* a, const float* c_prev, float* c, float* tc, float* h, int H, int j,
                          __m256i m) {
  const CellGates s = cell_gates(load<kTail>(a + j, m), load<kTail>(a + H + j, m),
                                 load<kTail>(a + 2 * H + j, m), load<kTail>(a + 3 * H + j, m),
                                 load<kTail>(c_prev + j, m));
  const __m256 tcj = tanh_ps(s.c);
  store<kTail>(a + j, m, s.i);
  store<kTail>(a + H + j, m, s.f);
  store<kTail>(a + 2 * H + j, m, s.g);
  store<kTail>(a + 3 * H + j, m, s.o);
  store<kTail>(c + j, m, s.c);
  store<kTail>(tc + j, m, tcj);
  store<kTail>(h + j, m, _mm256_mul_ps(s.o, tcj));
}

template <bool kTail>
inline void backward_block(float* da, float* dc_prev, const float* gates, const float* c_prev,
                           const float* tc, const float* dh, const float* dc, int H, int j, __m256i m) {
  // Every load before the first store: dc_prev aliases dc in BPTT.
  const CellGrads d = cell_backward(load<kTail>(gates + j, m), load<kTail>(gates + H + j, m),
                                    load<kTail>(gates + 2 * H + j, m), load<kTail>(gates + 3 * H + j, m),
                                    load<kTail>(tc + j, m), load<kTail>(c_prev + j, m),
                                    load<kTail>(dh + j, m), load<kTail>(dc + j, m));
  store<kTail>(da + j, m, d.di);
  store<kTail>(da + H + j, m, d.df);
  store<kTail>(da + 2 * H + j, m, d.dg);
  store<kTail>(da + 3 * H + j, m, d.d_o);
  store<kTail>(dc_prev + j, m, d.dc_prev);
}

void forward_avx2(float* a, const float* c_prev, float* c, float* tc, float* h, int H) {
  const __m256i none = _mm256_setzero_si256();
  int j = 0;
  for (; j + 8 <= H; j += 8) forward_block<false>(a, c_prev, c, tc, h, H, j, none);
  if (j < H) forward_block<true>(a, c_prev, c, tc, h, H, j, tail_mask(H - j));
}

void backward_avx2(float* da, float* dc_prev, const float* gates, const float* c_prev,
                   const float* tc, const float* dh, const float* dc, int H) {
  const __m256i none = _mm256_setzero_si256();
  int j = 0;
  for (; j + 8 <= H; j += 8) backward_block<false>(da, dc_prev, gates, c_prev, tc, dh, dc, H, j, none);
  if (j < H) backward_block<true>(da, dc_prev, gates, c_prev, tc, dh, dc, H, j, tail_mask(H - j));
}

template <__m256 (*Fn)(__m256)>
void apply(float* out, const float* x, int n) {
  int k = 0;
  for (; k + 8 <= n; k += 8) _mm256_storeu_ps(out + k, Fn(_mm256_loadu_ps(x + k)));
  if (k < n) {
    const __m256i m = tail_mask(n - k);
    _mm256_maskstore_ps(out + k, m, Fn(_mm256_maskload_ps(x + k, m)));
  }
}

}  // namespace

const GatesKernels gates_kernels_avx2 = {
    &forward_avx2,
    &backward_avx2,
    {&apply<exp_ps>, &apply<sigmoid_ps>, &apply<tanh_ps>},
};

}  // namespace lstm

#endif  // LSTM_NATIVE_X86
