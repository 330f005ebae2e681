// The scalar LSTM gates: the readable reference of the pointwise math in gates.h, and the oracle the
// SIMD variants are tested against (test/native/gates.test.ts). One template, exported as a float
// and a double overload; double is what gradient checks run.
//
// Dims: H hidden size; a row of pre-activations / gates is 4H wide, in PyTorch's order i, f, g, o.
// Reference: PyTorch's LSTM cell (aten/src/ATen/native/RNN.cpp), i.e. the formulas in gates.h.
#include <cmath>

#include "gates.h"

namespace lstm {
namespace {

// 1/(1+exp(-x)) for x >= 0 and exp(x)/(1+exp(x)) for x < 0: exp only ever sees -|x| <= 0, so it
// never overflows (1/(1+inf) would be fine, but inf/inf in the other form would be NaN), and for
// very negative x the result keeps full relative precision down to the denormals. The SIMD
// variants compute the same expression. NaN fails `x >= 0`, and exp(NaN) = NaN propagates.
template <typename F>
F sigmoid(F x) {
  const F e = std::exp(-std::fabs(x));  // (0, 1]
  return (x >= F(0) ? F(1) : e) / (F(1) + e);
}

template <typename F>
void forward(F* a, const F* c_prev, F* c, F* tc, F* h, int H) {
  // a: (4H) in/out; c_prev, c, tc, h: (H).
  for (int j = 0; j < H; ++j) {
    const F i = sigmoid(a[j]);
    const F f = sigmoid(a[H + j]);
    const F g = std::tanh(a[2 * H + j]);
    const F o = sigmoid(a[3 * H + j]);
    // c_prev is read before c is written, so c may alias c_prev.
    const F cj = f * c_prev[j] + i * g;
    const F tcj = std::tanh(cj);
    a[j] = i;
    a[H + j] = f;
    a[2 * H + j] = g;
    a[3 * H + j] = o;
    c[j] = cj;
    tc[j] = tcj;
    h[j] = o * tcj;
  }
}

template <typename F>
void backward(F* da, F* dc_prev, const F* gates, const F* c_prev, const F* tc, const F* dh,
              const F* dc, int H) {
  // da, gates: (4H); dc_prev, c_prev, tc, dh, dc: (H).
  for (int j = 0; j < H; ++j) {
    // Every input of column j is read before any output of column j is written: dc_prev aliases
    // dc in lstm_backward.cc, and da may even alias gates.
    const F i = gates[j];
    const F f = gates[H + j];
    const F g = gates[2 * H + j];
    const F o = gates[3 * H + j];
    const F t = tc[j];
    const F dhj = dh[j];
    const F dc_tot = dc[j] + dhj * o * (F(1) - t * t);
    const F cp = c_prev[j];
    da[j] = dc_tot * g * i * (F(1) - i);
    da[H + j] = dc_tot * cp * f * (F(1) - f);
    da[2 * H + j] = dc_tot * i * (F(1) - g * g);
    da[3 * H + j] = dhj * t * o * (F(1) - o);
    dc_prev[j] = dc_tot * f;
  }
}

// The float activations behind the _activation test hook with isa 'scalar' (libm's expf/tanhf).
void exp_scalar(float* out, const float* x, int n) {
  for (int k = 0; k < n; ++k) out[k] = std::exp(x[k]);
}
void sigmoid_scalar(float* out, const float* x, int n) {
  for (int k = 0; k < n; ++k) out[k] = sigmoid(x[k]);
}
void tanh_scalar(float* out, const float* x, int n) {
  for (int k = 0; k < n; ++k) out[k] = std::tanh(x[k]);
}

}  // namespace

void gates_forward_scalar(float* a, const float* c_prev, float* c, float* tc, float* h, int H) {
  forward(a, c_prev, c, tc, h, H);
}
void gates_forward_scalar(double* a, const double* c_prev, double* c, double* tc, double* h, int H) {
  forward(a, c_prev, c, tc, h, H);
}
void gates_backward_scalar(float* da, float* dc_prev, const float* gates, const float* c_prev,
                           const float* tc, const float* dh, const float* dc, int H) {
  backward(da, dc_prev, gates, c_prev, tc, dh, dc, H);
}
void gates_backward_scalar(double* da, double* dc_prev, const double* gates, const double* c_prev,
                           const double* tc, const double* dh, const double* dc, int H) {
  backward(da, dc_prev, gates, c_prev, tc, dh, dc, H);
}

const GatesKernels gates_kernels_scalar = {
    static_cast<GatesForwardFn<float>>(&gates_forward_scalar),
    static_cast<GatesBackwardFn<float>>(&gates_backward_scalar),
    {&exp_scalar, &sigmoid_scalar, &tanh_scalar},
};

}  // namespace lstm
