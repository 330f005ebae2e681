// Optimizer updates and gradient clipping over one flat float32 buffer: one pass each, in place.
//
// Every update follows PyTorch's CPU for-loop implementation (torch/optim/*.py, `_single_tensor_*`)
// operation by operation: hyper-parameters are combined in double as Python does (bias corrections,
// step size, 1 - beta, 1 - lr*wd), then rounded to float once, and every elementwise op is a float32
// op in PyTorch's order (add with alpha: `a + alpha*b`; addcmul: `a + (value*b)*c`; addcdiv:
// `a + (value*b)/c`; lerp as ATen's, switching form at |weight| = 0.5). The gradient is never
// written: weight decay makes a local copy as `grad.add(param, alpha=wd)` does.
//
// n is the number of parameters; every buffer has n elements (the parameters' layout). Buffers
// are never aliased. Loops are split over the thread pool for large n; every element is computed
// the same way whatever the split, so results do not depend on the thread count. Nothing here
// allocates, throws or prints.
#pragma once

#include <cstdint>

#include "status.h"

namespace lstm {

// torch.optim.SGD. momentum_buf: (n), required when momentum != 0 (nullptr otherwise); on the first
// step (first_step) it is set to the gradient without dampening, as PyTorch's `clone(grad)`.
Status sgd_step(float* param, const float* grad, float* momentum_buf, int64_t n, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov,
                bool first_step);

// torch.optim.Adam (decoupled_weight_decay false) and torch.optim.AdamW (true: `param *= 1 - lr*wd`
// before the update). step is the 1-based count including this step. exp_avg, exp_avg_sq: (n);
// max_exp_avg_sq: (n) with amsgrad, nullptr without.
Status adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                 float* max_exp_avg_sq, int64_t n, double step, double lr, double beta1,
                 double beta2, double eps, double weight_decay, bool decoupled_weight_decay);

// torch.optim.RMSprop. square_avg: (n); grad_avg: (n) when centered, else nullptr; momentum_buf:
// (n) when momentum > 0, else nullptr.
Status rmsprop_step(float* param, const float* grad, float* square_avg, float* grad_avg,
                    float* momentum_buf, int64_t n, double lr, double alpha, double eps,
                    double weight_decay, double momentum);

// torch.optim.Adagrad (dense): clr = lr / (1 + (step - 1) * lr_decay). state_sum: (n), started at
// initial_accumulator_value by the caller. step is the 1-based count including this step.
Status adagrad_step(float* param, const float* grad, float* state_sum, int64_t n, double step,
                    double lr, double lr_decay, double weight_decay, double eps);

// Sum of x[i]^2 accumulated in double, in a fixed order (deterministic). For the 2-norm.
double sum_squares(const float* x, int64_t n);

// max |x[i]|, NaN when any element is NaN. For the infinity norm.
double max_abs(const float* x, int64_t n);

// x[i] *= s (s rounded to float once, as torch's `mul_` by a float32 scalar tensor).
void scale_in_place(float* x, int64_t n, float s);

// x[i] = min(max(x[i], lo), hi); NaN stays NaN, as torch.clamp_.
void clamp_in_place(float* x, int64_t n, float lo, float hi);

}  // namespace lstm
