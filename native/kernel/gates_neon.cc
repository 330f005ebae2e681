// The NEON LSTM gates for AArch64 (float32, 4 lanes): the same formulas as gates_scalar.cc and the
// same exp / sigmoid / tanh as gates_avx2.cc, lane for lane (same constants, same operation order).
//
// Built only on arm64 (CMakeLists.txt), with no extra flags: Advanced SIMD, FMA (vfmaq), vector
// division and round-to-nearest (vrndnq) are all baseline AArch64.
//
// Dims: H hidden size; a row of pre-activations / gates is 4H wide, in the order i, f, g, o.
// The tail (H not a multiple of 4) is copied into zero-padded stack buffers and run through the
// SAME vector code, so a column's result does not depend on its position, and nothing past H is
// read or written.
// Math: exp after Cephes / SLEEF, tanh after Cephes tanhf (details in gates_avx2.cc).
#if defined(LSTM_NATIVE_ARM64)

#include <arm_neon.h>

#include "gates.h"

namespace lstm {
namespace {

inline float32x4_t splat(float v) { return vdupq_n_f32(v); }

// exp(x) for every float: +inf above ~88.72, gradual underflow, 0 below ~-103.97, NaN for NaN.
inline float32x4_t exp_ps(float32x4_t x) {
  // FMIN/FMAX return NaN when either operand is NaN, so the clamp keeps NaN.
  x = vminq_f32(x, splat(89.0f));
  x = vmaxq_f32(x, splat(-104.0f));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, splat(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, splat(0.693145751953125f));  // x - n*ln2_hi, exact
  r = vfmsq_f32(r, n, splat(1.428606765330187045e-6f));
  float32x4_t p = splat(1.98527617612853646278381e-4f);
  p = vfmaq_f32(splat(1.39304355252534151077271e-3f), p, r);
  p = vfmaq_f32(splat(8.33336077630519866943359e-3f), p, r);
  p = vfmaq_f32(splat(4.16664853692054748535156e-2f), p, r);
  p = vfmaq_f32(splat(1.66666671633720397949219e-1f), p, r);
  p = vfmaq_f32(splat(0.5f), p, r);
  p = vfmaq_f32(splat(1.0f), p, r);
  p = vfmaq_f32(splat(1.0f), p, r);
  // 2^n as 2^(n>>1) * 2^(n - (n>>1)): both normal for n in [-150, 128], one rounding at the end.
  const int32x4_t ni = vcvtq_s32_f32(n);  // n is already integral
  const int32x4_t na = vshrq_n_s32(ni, 1);
  const int32x4_t nb = vsubq_s32(ni, na);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t sa = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(na, bias), 23));
  const float32x4_t sb = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(nb, bias), 23));
  return vmulq_f32(vmulq_f32(p, sa), sb);
}

// 1/(1+e) for x >= 0, e/(1+e) for x < 0, e = exp(-|x|); a true division. NaN: compare false, e NaN.
inline float32x4_t sigmoid_ps(float32x4_t x) {
  const float32x4_t e = exp_ps(vnegq_f32(vabsq_f32(x)));
  const float32x4_t num = vbslq_f32(vcgeq_f32(x, splat(0.0f)), splat(1.0f), e);
  return vdivq_f32(num, vaddq_f32(splat(1.0f), e));
}

// Cephes tanhf on |x|, sign restored: odd polynomial below 0.625, 1 - 2/(exp(2|x|)+1) above.
inline float32x4_t tanh_ps(float32x4_t x) {
  const float32x4_t ax = vabsq_f32(x);
  const float32x4_t z = vmulq_f32(ax, ax);
  float32x4_t p = splat(-5.70498872745e-3f);
  p = vfmaq_f32(splat(2.06390887954e-2f), p, z);
  p = vfmaq_f32(splat(-5.37397155531e-2f), p, z);
  p = vfmaq_f32(splat(1.33314422036e-1f), p, z);
  p = vfmaq_f32(splat(-3.33332819422e-1f), p, z);
  const float32x4_t small = vfmaq_f32(ax, vmulq_f32(p, z), ax);
  const float32x4_t e = exp_ps(vaddq_f32(ax, ax));
  const float32x4_t large = vsubq_f32(splat(1.0f), vdivq_f32(splat(2.0f), vaddq_f32(e, splat(1.0f))));
  const float32x4_t t = vbslq_f32(vcltq_f32(ax, splat(0.625f)), small, large);
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(t), sign));
}

// One block of 4 columns from pointers laid out like the real rows (gate k of column j at
// a[k*H + j]); the tail calls it on padded copies with H = 4. All loads before the first store.
inline void forward_block(float* a, const float* c_prev, float* c, float* tc, float* h, int H, int j) {
  const float32x4_t i = sigmoid_ps(vld1q_f32(a + j));
  const float32x4_t f = sigmoid_ps(vld1q_f32(a + H + j));
  const float32x4_t g = tanh_ps(vld1q_f32(a + 2 * H + j));
  const float32x4_t o = sigmoid_ps(vld1q_f32(a + 3 * H + j));
  const float32x4_t cp = vld1q_f32(c_prev + j);
  const float32x4_t cj = vfmaq_f32(vmulq_f32(i, g), f, cp);
  const float32x4_t tcj = tanh_ps(cj);
  vst1q_f32(a + j, i);
  vst1q_f32(a + H + j, f);
  vst1q_f32(a + 2 * H + j, g);
  vst1q_f32(a + 3 * H + j, o);
  vst1q_f32(c + j, cj);
  vst1q_f32(tc + j, tcj);
  vst1q_f32(h + j, vmulq_f32(o, tcj));
}

inline void backward_block(float* da, float* dc_prev, const float* gates, const float* c_prev,
                           const float* tc, const float* dh, const float* dc, int H, int j) {
  const float32x4_t one = splat(1.0f);
  const float32x4_t i = vld1q_f32(gates + j);
  const float32x4_t f = vld1q_f32(gates + H + j);
  const float32x4_t g = vld1q_f32(gates + 2 * H + j);
  const float32x4_t o = vld1q_f32(gates + 3 * H + j);
  const float32x4_t t = vld1q_f32(tc + j);
  const float32x4_t dhj = vld1q_f32(dh + j);
  const float32x4_t cp = vld1q_f32(c_prev + j);
  const float32x4_t dcj = vld1q_f32(dc + j);  // before the dc_prev store: they alias in BPTT
  const float32x4_t dho = vmulq_f32(dhj, o);
  const float32x4_t dc_tot = vfmaq_f32(dcj, dho, vfmsq_f32(one, t, t));
  const float32x4_t di = vmulq_f32(vmulq_f32(dc_tot, g), vmulq_f32(i, vsubq_f32(one, i)));
  const float32x4_t df = vmulq_f32(vmulq_f32(dc_tot, cp), vmulq_f32(f, vsubq_f32(one, f)));
  const float32x4_t dg = vmulq_f32(vmulq_f32(dc_tot, i), vfmsq_f32(one, g, g));
  const float32x4_t d_o = vmulq_f32(vmulq_f32(dho, t), vsubq_f32(one, o));
  vst1q_f32(da + j, di);
  vst1q_f32(da + H + j, df);
  vst1q_f32(da + 2 * H + j, dg);
  vst1q_f32(da + 3 * H + j, d_o);
  vst1q_f32(dc_prev + j, vmulq_f32(dc_tot, f));
}

void forward_neon(float* a, const float* c_prev, float* c, float* tc, float* h, int H) {
  int j = 0;
  for (; j + 4 <= H; j += 4) forward_block(a, c_prev, c, tc, h, H, j);
  const int rem = H - j;
  if (rem == 0) return;
  float ta[16] = {}, tcp[4] = {}, tcc[4], ttc[4], th[4];
  for (int k = 0; k < rem; ++k) {
    for (int q = 0; q < 4; ++q) ta[4 * q + k] = a[q * H + j + k];
    tcp[k] = c_prev[j + k];
  }
  forward_block(ta, tcp, tcc, ttc, th, 4, 0);
  for (int k = 0; k < rem; ++k) {
    for (int q = 0; q < 4; ++q) a[q * H + j + k] = ta[4 * q + k];
    c[j + k] = tcc[k];
    tc[j + k] = ttc[k];
    h[j + k] = th[k];
  }
}

void backward_neon(float* da, float* dc_prev, const float* gates, const float* c_prev,
                   const float* tc, const float* dh, const float* dc, int H) {
  int j = 0;
  for (; j + 4 <= H; j += 4) backward_block(da, dc_prev, gates, c_prev, tc, dh, dc, H, j);
  const int rem = H - j;
  if (rem == 0) return;
  float tg[16] = {}, tcp[4] = {}, ttc[4] = {}, tdh[4] = {}, tdc[4] = {}, tda[16], tdcp[4];
  for (int k = 0; k < rem; ++k) {
    for (int q = 0; q < 4; ++q) tg[4 * q + k] = gates[q * H + j + k];
    tcp[k] = c_prev[j + k];
    ttc[k] = tc[j + k];
    tdh[k] = dh[j + k];
    tdc[k] = dc[j + k];
  }
  backward_block(tda, tdcp, tg, tcp, ttc, tdh, tdc, 4, 0);
  for (int k = 0; k < rem; ++k) {
    for (int q = 0; q < 4; ++q) da[q * H + j + k] = tda[4 * q + k];
    dc_prev[j + k] = tdcp[k];
  }
}

template <float32x4_t (*Fn)(float32x4_t)>
void apply(float* out, const float* x, int n) {
  int k = 0;
  for (; k + 4 <= n; k += 4) vst1q_f32(out + k, Fn(vld1q_f32(x + k)));
  const int rem = n - k;
  if (rem == 0) return;
  float t[4] = {};
  for (int q = 0; q < rem; ++q) t[q] = x[k + q];
  vst1q_f32(t, Fn(vld1q_f32(t)));
  for (int q = 0; q < rem; ++q) out[k + q] = t[q];
}

}  // namespace

const GatesKernels gates_kernels_neon = {
    &forward_neon,
    &backward_neon,
    {&apply<exp_ps>, &apply<sigmoid_ps>, &apply<tanh_ps>},
};

}  // namespace lstm

#endif  // LSTM_NATIVE_ARM64
