// The AVX-512 LSTM gates (float32, 16 lanes): the same formulas as gates_scalar.cc and the same
// exp / sigmoid / tanh as gates_avx2.cc, lane for lane (same constants, same operation order), so
// the two SIMD variants give identical results and the accuracy measured for one holds for the other.
//
// Compiled with -mavx512f -mavx512dq -mavx2 -mfma (CMakeLists.txt) and called only after
// cpu_supports(Isa::Avx512), so: everything here has internal linkage, and the file includes no
// C++ library header (an inline library function instantiated here would be emitted with EVEX
// encodings as a weak symbol the linker may keep for the whole program; see gates_avx2.cc).
//
// Dims: H hidden size; a row of pre-activations / gates is 4H wide, in the order i, f, g, o.
// The tail (H not a multiple of 16) uses AVX-512 masked loads/stores: nothing past H is touched.
// Math: exp after Cephes / SLEEF, tanh after Cephes tanhf (details in gates_avx2.cc).
#if defined(LSTM_NATIVE_X86)

#include "simd_vec.h"  // <immintrin.h>, without GCC 12's warning inside avx512fintrin.h

#include "gates.h"

namespace lstm {
namespace {

inline __m512 splat(float v) { return _mm512_set1_ps(v); }

inline __m512 sign_bits(__m512 x) { return _mm512_and_ps(x, splat(-0.0f)); }
inline __m512 abs_ps(__m512 x) { return _mm512_andnot_ps(splat(-0.0f), x); }

// exp(x) for every float: +inf above ~88.72, gradual underflow, 0 below ~-103.97, NaN for NaN.
inline __m512 exp_ps(__m512 x) {
  // VMINPS/VMAXPS return the second operand when either is NaN: x goes second to keep NaN.
  x = _mm512_min_ps(splat(89.0f), x);
  x = _mm512_max_ps(splat(-104.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, splat(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, splat(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, splat(1.428606765330187045e-6f), r);
  __m512 p = splat(1.98527617612853646278381e-4f);
  p = _mm512_fmadd_ps(p, r, splat(1.39304355252534151077271e-3f));
  p = _mm512_fmadd_ps(p, r, splat(8.33336077630519866943359e-3f));
  p = _mm512_fmadd_ps(p, r, splat(4.16664853692054748535156e-2f));
  p = _mm512_fmadd_ps(p, r, splat(1.66666671633720397949219e-1f));
  p = _mm512_fmadd_ps(p, r, splat(0.5f));
  p = _mm512_fmadd_ps(p, r, splat(1.0f));
  p = _mm512_fmadd_ps(p, r, splat(1.0f));
  // 2^n as 2^(n>>1) * 2^(n - (n>>1)): both factors normal for n in [-150, 128], one rounding at
  // the second multiply (overflow to +inf, gradual underflow). Kept identical to the AVX2 code
  // rather than using vscalefps, so both variants round the same way.
  const __m512i ni = _mm512_cvtps_epi32(n);
  const __m512i na = _mm512_srai_epi32(ni, 1);
  const __m512i nb = _mm512_sub_epi32(ni, na);
  const __m512i bias = _mm512_set1_epi32(127);
  const __m512 sa = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(na, bias), 23));
  const __m512 sb = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(nb, bias), 23));
  return _mm512_mul_ps(_mm512_mul_ps(p, sa), sb);
}

// 1/(1+e) for x >= 0, e/(1+e) for x < 0, e = exp(-|x|); a true division. NaN: compare false, e NaN.
inline __m512 sigmoid_ps(__m512 x) {
  const __m512 e = exp_ps(_mm512_or_ps(abs_ps(x), splat(-0.0f)));
  const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  const __m512 num = _mm512_mask_blend_ps(nonneg, e, splat(1.0f));
  return _mm512_div_ps(num, _mm512_add_ps(splat(1.0f), e));
}

// Cephes tanhf on |x|, sign restored: odd polynomial below 0.625, 1 - 2/(exp(2|x|)+1) above.
inline __m512 tanh_ps(__m512 x) {
  const __m512 ax = abs_ps(x);
  const __m512 z = _mm512_mul_ps(ax, ax);
  __m512 p = splat(-5.70498872745e-3f);
  p = _mm512_fmadd_ps(p, z, splat(2.06390887954e-2f));
  p = _mm512_fmadd_ps(p, z, splat(-5.37397155531e-2f));
  p = _mm512_fmadd_ps(p, z, splat(1.33314422036e-1f));
  p = _mm512_fmadd_ps(p, z, splat(-3.33332819422e-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), ax, ax);
  const __m512 e = exp_ps(_mm512_add_ps(ax, ax));
  const __m512 large = _mm512_sub_ps(splat(1.0f), _mm512_div_ps(splat(2.0f), _mm512_add_ps(e, splat(1.0f))));
  const __mmask16 is_small = _mm512_cmp_ps_mask(ax, splat(0.625f), _CMP_LT_OQ);
  const __m512 t = _mm512_mask_blend_ps(is_small, large, small);
  return _mm512_or_ps(t, sign_bits(x));
}

// Loads and stores of one block of 16 columns; kTail masks them (masked-off lanes never fault).
template <bool kTail>
inline __m512 load(const float* p, __mmask16 m) {
  if constexpr (kTail) return _mm512_maskz_loadu_ps(m, p);
  else return _mm512_loadu_ps(p);
}
template <bool kTail>
inline void store(float* p, __mmask16 m, __m512 v) {
  if constexpr (kTail) _mm512_mask_storeu_ps(p, m, v);
  else _mm512_storeu_ps(p, v);
}
inline __mmask16 tail_mask(int rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

// All loads before the first store, so c may alias c_prev (forward) and dc_prev alias dc (backward).
template <bool kTail>
inline void forward_block(float* a, const float* c_prev, float* c, float* tc, float* h, int H, int j,
                          __mmask16 m) {
  const __m512 i = sigmoid_ps(load<kTail>(a + j, m));
  const __m512 f = sigmoid_ps(load<kTail>(a + H + j, m));
  const __m512 g = tanh_ps(load<kTail>(a + 2 * H + j, m));
  const __m512 o = sigmoid_ps(load<kTail>(a + 3 * H + j, m));
  const __m512 cp = load<kTail>(c_prev + j, m);
  const __m512 cj = _mm512_fmadd_ps(f, cp, _mm512_mul_ps(i, g));
  const __m512 tcj = tanh_ps(cj);
  store<kTail>(a + j, m, i);
  store<kTail>(a + H + j, m, f);
  store<kTail>(a + 2 * H + j, m, g);
  store<kTail>(a + 3 * H + j, m, o);
  store<kTail>(c + j, m, cj);
  store<kTail>(tc + j, m, tcj);
  store<kTail>(h + j, m, _mm512_mul_ps(o, tcj));
}

template <bool kTail>
inline void backward_block(float* da, float* dc_prev, const float* gates, const float* c_prev,
                           const float* tc, const float* dh, const float* dc, int H, int j, __mmask16 m) {
  const __m512 one = splat(1.0f);
  const __m512 i = load<kTail>(gates + j, m);
  const __m512 f = load<kTail>(gates + H + j, m);
  const __m512 g = load<kTail>(gates + 2 * H + j, m);
  const __m512 o = load<kTail>(gates + 3 * H + j, m);
  const __m512 t = load<kTail>(tc + j, m);
  const __m512 dhj = load<kTail>(dh + j, m);
  const __m512 cp = load<kTail>(c_prev + j, m);
  const __m512 dcj = load<kTail>(dc + j, m);
  const __m512 dho = _mm512_mul_ps(dhj, o);
  const __m512 dc_tot = _mm512_fmadd_ps(dho, _mm512_fnmadd_ps(t, t, one), dcj);
  const __m512 di = _mm512_mul_ps(_mm512_mul_ps(dc_tot, g), _mm512_mul_ps(i, _mm512_sub_ps(one, i)));
  const __m512 df = _mm512_mul_ps(_mm512_mul_ps(dc_tot, cp), _mm512_mul_ps(f, _mm512_sub_ps(one, f)));
  const __m512 dg = _mm512_mul_ps(_mm512_mul_ps(dc_tot, i), _mm512_fnmadd_ps(g, g, one));
  const __m512 d_o = _mm512_mul_ps(_mm512_mul_ps(dho, t), _mm512_sub_ps(one, o));
  store<kTail>(da + j, m, di);
  store<kTail>(da + H + j, m, df);
  store<kTail>(da + 2 * H + j, m, dg);
  store<kTail>(da + 3 * H + j, m, d_o);
  store<kTail>(dc_prev + j, m, _mm512_mul_ps(dc_tot, f));
}

void forward_avx512(float* a, const float* c_prev, float* c, float* tc, float* h, int H) {
  int j = 0;
  for (; j + 16 <= H; j += 16) forward_block<false>(a, c_prev, c, tc, h, H, j, 0);
  if (j < H) forward_block<true>(a, c_prev, c, tc, h, H, j, tail_mask(H - j));
}

void backward_avx512(float* da, float* dc_prev, const float* gates, const float* c_prev,
                     const float* tc, const float* dh, const float* dc, int H) {
  int j = 0;
  for (; j + 16 <= H; j += 16) backward_block<false>(da, dc_prev, gates, c_prev, tc, dh, dc, H, j, 0);
  if (j < H) backward_block<true>(da, dc_prev, gates, c_prev, tc, dh, dc, H, j, tail_mask(H - j));
}

template <__m512 (*Fn)(__m512)>
void apply(float* out, const float* x, int n) {
  int k = 0;
  for (; k + 16 <= n; k += 16) _mm512_storeu_ps(out + k, Fn(_mm512_loadu_ps(x + k)));
  if (k < n) {
    const __mmask16 m = tail_mask(n - k);
    _mm512_mask_storeu_ps(out + k, m, Fn(_mm512_maskz_loadu_ps(m, x + k)));
  }
}

}  // namespace

const GatesKernels gates_kernels_avx512 = {
    &forward_avx512,
    &backward_avx512,
    {&apply<exp_ps>, &apply<sigmoid_ps>, &apply<tanh_ps>},
};

}  // namespace lstm

#endif  // LSTM_NATIVE_X86
