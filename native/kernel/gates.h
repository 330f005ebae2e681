// The fused pointwise math of one LSTM step, for one batch row, vectorised along H.
//
// Gate order inside a 4H row is PyTorch's: i, f, g, o at offsets 0, H, 2H, 3H.
//
//   forward:   i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
//              c = f * c_prev + i * g      tc = tanh(c)      h = o * tc
//   backward:  given dh (gradient w.r.t. h) and dc (gradient w.r.t. c arriving from step t+1):
//              dc_tot = dc + dh * o * (1 - tc^2)
//              do = dh * tc * o * (1 - o)
//              di = dc_tot * g * i * (1 - i)
//              dg = dc_tot * i * (1 - g^2)
//              df = dc_tot * c_prev * f * (1 - f)
//              dc_prev = dc_tot * f
//              da = (di, df, dg, do) written to the 4H row
//
// Variants: scalar (gates_scalar.cc, the reference: std::exp / std::tanh), avx2 (AVX2+FMA),
// avx512 (AVX-512F), neon (AArch64). The SIMD exp and tanh are accurate to a few float32 ulp
// (bound measured in test/native/gates.test.ts), so every variant gives the scalar answers to
// float32 rounding. double always uses the scalar code (it exists for gradient checks).
#pragma once

#include "cpu_features.h"

namespace lstm {

// a: (4H) pre-activations in, activated gates out (i, f, g, o).
// c_prev: (H). c, tc, h: (H) outputs: new cell state, tanh(c), hidden state.
template <typename F>
using GatesForwardFn = void (*)(F* a, const F* c_prev, F* c, F* tc, F* h, int H);

// da: (4H) out. dc_prev: (H) out (may alias dc). gates: (4H) activated gates from forward.
// c_prev, tc: (H) from forward. dh, dc: (H) incoming gradients.
template <typename F>
using GatesBackwardFn = void (*)(F* da, F* dc_prev, const F* gates, const F* c_prev, const F* tc,
                                 const F* dh, const F* dc, int H);

void gates_forward_scalar(float* a, const float* c_prev, float* c, float* tc, float* h, int H);
void gates_forward_scalar(double* a, const double* c_prev, double* c, double* tc, double* h, int H);
void gates_backward_scalar(float* da, float* dc_prev, const float* gates, const float* c_prev,
                           const float* tc, const float* dh, const float* dc, int H);
void gates_backward_scalar(double* da, double* dc_prev, const double* gates, const double* c_prev,
                           const double* tc, const double* dh, const double* dc, int H);

// The float32 variant for a given ISA (nullptr when not compiled in). Tests call each one.
GatesForwardFn<float> gates_forward_for(Isa isa);
GatesBackwardFn<float> gates_backward_for(Isa isa);

// What the kernel calls: the ISA table's variant (isa_table.h; float) or the scalar one (double).
template <typename F>
GatesForwardFn<F> gates_forward();
template <typename F>
GatesBackwardFn<F> gates_backward();

// ---- Added with gates_dispatch.cc: the per-ISA tables and the activation test hook ----------------

// The elementwise activations of each variant, exposed so tests can measure their accuracy.
enum class Activation : int { Exp = 0, Sigmoid = 1, Tanh = 2 };
// out[k] = f(x[k]) for k < n, float32; out may equal x.
using ActivationFn = void (*)(float* out, const float* x, int n);

// One variant's float32 entry points. Each variant file defines one of these as constant-initialised
// data (no code runs to build it), so nothing compiled with -mavx2 / -mavx512f executes before
// dispatch has checked the CPU. Only gates_dispatch.cc reads them.
struct GatesKernels {
  GatesForwardFn<float> forward;
  GatesBackwardFn<float> backward;
  ActivationFn activation[3];  // indexed by Activation
};
extern const GatesKernels gates_kernels_scalar;
#if defined(LSTM_NATIVE_X86)
extern const GatesKernels gates_kernels_avx2;
extern const GatesKernels gates_kernels_avx512;
#endif
#if defined(LSTM_NATIVE_ARM64)
extern const GatesKernels gates_kernels_neon;
#endif

// One ISA's activation. Like gates_forward_for / gates_backward_for, nullptr when the variant is
// not compiled in or not runnable on this CPU (so a returned pointer is always safe to call).
ActivationFn activation_for(Isa isa, Activation kind);

}  // namespace lstm
