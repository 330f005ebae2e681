// See ops_optim.h. Each update is one templated loop per combination of options, so the branches
// leave the loop and the compiler can vectorise it; the float constants are computed once per call
// from the double hyper-parameters exactly as PyTorch's Python code computes them.
#include "ops_optim.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "thread_pool.h"

namespace lstm {
namespace {

// Below this many elements per thread a loop runs inline (waking a thread costs more).
constexpr int64_t kMinPerThread = int64_t{1} << 15;

template <typename F>
void for_chunks(int64_t n, const F& f) {
  parallel_for_min(n, kMinPerThread, [&f](int64_t begin, int64_t end) { f(begin, end); });
}

// Calls f(std::true_type) or f(std::false_type): turns a runtime flag into a template argument.
template <typename F>
void with_flag(bool v, F&& f) {
  if (v) f(std::true_type{});
  else f(std::false_type{});
}

// ATen's lerp (aten/src/ATen/native/Lerp.h): self + w*(end - self) when |w| < 0.5, else
// end - (end - self)*(1 - w). kSmall is that test, made once per call.
template <bool kSmall>
inline float lerp(float self, float end, float w, float one_minus_w) {
  const float diff = end - self;
  return kSmall ? self + w * diff : end - diff * one_minus_w;
}

// torch.maximum: NaN when either side is NaN.
inline float maximum(float a, float b) {
  float r = a > b ? a : b;
  return a != a ? a : r;
}

bool bad(int64_t n) { return n < 0; }

// ---- SGD -----------------------------------------------------------------------------------------
struct SgdConsts {
  float weight_decay, momentum, one_minus_dampening, neg_lr;
};

template <bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_range(float* __restrict p, const float* __restrict g, float* __restrict buf, int64_t begin,
               int64_t end, SgdConsts c) {
  for (int64_t i = begin; i < end; ++i) {
    float d = g[i];
    if (kDecay) d = d + c.weight_decay * p[i];                      // grad.add(param, alpha=wd)
    if (kMomentum) {
      // First step: buf = clone(grad). Then buf.mul_(momentum).add_(grad, alpha=1 - dampening).
      const float b = kFirst ? d : buf[i] * c.momentum + c.one_minus_dampening * d;
      buf[i] = b;
      d = kNesterov ? d + c.momentum * b : b;                       // grad.add(buf, alpha=momentum)
    }
    p[i] = p[i] + c.neg_lr * d;                                     // param.add_(grad, alpha=-lr)
  }
}

// ---- Adam / AdamW --------------------------------------------------------------------------------
struct AdamConsts {
  float weight_decay, decay, w1, one_minus_w1, beta2, one_minus_beta2, bias_correction2_sqrt, eps,
      neg_step_size;
};

enum Decay { kNoDecay = 0, kL2 = 1, kDecoupled = 2 };

template <int kDecay, bool kAmsgrad, bool kSmall>
void adam_range(float* __restrict p, const float* __restrict g, float* __restrict m,
                float* __restrict v, float* __restrict vmax, int64_t begin, int64_t end,
                AdamConsts c) {
  for (int64_t i = begin; i < end; ++i) {
    float pi = p[i];
    float gi = g[i];
    if (kDecay == kDecoupled) pi = pi * c.decay;                    // param.mul_(1 - lr*wd)
    if (kDecay == kL2) gi = gi + c.weight_decay * pi;               // grad.add(param, alpha=wd)
    const float mi = lerp<kSmall>(m[i], gi, c.w1, c.one_minus_w1);  // exp_avg.lerp_(grad, 1 - beta1)
    float vi = v[i] * c.beta2;                                      // exp_avg_sq.mul_(beta2)
    vi = vi + (c.one_minus_beta2 * gi) * gi;                        //   .addcmul_(grad, grad, 1 - beta2)
    m[i] = mi;
    v[i] = vi;
    float vd = vi;
    if (kAmsgrad) {
      vd = maximum(vmax[i], vi);                                    // torch.maximum(max, v, out=max)
      vmax[i] = vd;
    }
    const float denom = std::sqrt(vd) / c.bias_correction2_sqrt + c.eps;
    p[i] = pi + (c.neg_step_size * mi) / denom;                     // addcdiv_(m, denom, -step_size)
  }
}

// ---- RMSprop -------------------------------------------------------------------------------------
struct RmspropConsts {
  float weight_decay, alpha, one_minus_alpha, alpha_c /* 1 - (1 - alpha) in float */, eps, momentum,
      neg_lr;
};

template <bool kDecay, bool kCentered, bool kMomentum, bool kSmall>
void rmsprop_range(float* __restrict p, const float* __restrict g, float* __restrict sq,
                   float* __restrict ga, float* __restrict buf, int64_t begin, int64_t end,
                   RmspropConsts c) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if (kDecay) gi = gi + c.weight_decay * p[i];
    float s = sq[i] * c.alpha;                                      // square_avg.mul_(alpha)
    s = s + (c.one_minus_alpha * gi) * gi;                          //   .addcmul_(grad, grad, 1 - alpha)
    sq[i] = s;
    float avg;
    if (kCentered) {
      const float a = lerp<kSmall>(ga[i], gi, c.one_minus_alpha, c.alpha_c);  // grad_avg.lerp_
      ga[i] = a;
      avg = std::sqrt(s + (-a) * a);                                // addcmul(ga, ga, value=-1).sqrt_()
    } else {
      avg = std::sqrt(s);
    }
    avg = avg + c.eps;
    if (kMomentum) {
      float b = buf[i] * c.momentum;                                // buf.mul_(momentum)
      b = b + gi / avg;                                             //   .addcdiv_(grad, avg)
      buf[i] = b;
      p[i] = p[i] + c.neg_lr * b;                                   // param.add_(buf, alpha=-lr)
    } else {
      p[i] = p[i] + (c.neg_lr * gi) / avg;                          // addcdiv_(grad, avg, -lr)
    }
  }
}

// ---- Adagrad -------------------------------------------------------------------------------------
template <bool kDecay>
void adagrad_range(float* __restrict p, const float* __restrict g, float* __restrict sum,
                   int64_t begin, int64_t end, float weight_decay, float eps, float neg_clr) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if (kDecay) gi = gi + weight_decay * p[i];
    const float s = sum[i] + gi * gi;                               // state_sum.addcmul_(g, g, 1)
    sum[i] = s;
    const float std_ = std::sqrt(s) + eps;                          // sqrt().add_(eps)
    p[i] = p[i] + (neg_clr * gi) / std_;                            // addcdiv_(grad, std, -clr)
  }
}

}  // namespace

Status sgd_step(float* param, const float* grad, float* momentum_buf, int64_t n, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov,
                bool first_step) {
  if (bad(n)) return Status::InvalidDims;
  if (n > 0 && (!param || !grad || (momentum != 0 && !momentum_buf))) return Status::NullPointer;
  const SgdConsts c{static_cast<float>(weight_decay), static_cast<float>(momentum),
                    static_cast<float>(1.0 - dampening), static_cast<float>(-lr)};
  with_flag(weight_decay != 0, [&](auto decay) {
    with_flag(momentum != 0, [&](auto mom) {
      with_flag(first_step, [&](auto first) {
        with_flag(nesterov, [&](auto nest) {
          for_chunks(n, [&](int64_t b, int64_t e) {
            sgd_range<decltype(decay)::value, decltype(mom)::value, decltype(first)::value,
                      decltype(nest)::value>(param, grad, momentum_buf, b, e, c);
          });
        });
      });
    });
  });
  return Status::Ok;
}

Status adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                 float* max_exp_avg_sq, int64_t n, double step, double lr, double beta1,
                 double beta2, double eps, double weight_decay, bool decoupled_weight_decay) {
  if (bad(n) || !(step >= 1)) return Status::InvalidDims;
  if (n > 0 && (!param || !grad || !exp_avg || !exp_avg_sq)) return Status::NullPointer;
  // As torch/optim/adam.py: bias corrections, step size and sqrt in Python floats (double).
  const double bias_correction1 = 1 - std::pow(beta1, step);
  const double bias_correction2 = 1 - std::pow(beta2, step);
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
  const float w1 = static_cast<float>(1 - beta1);
  const AdamConsts c{static_cast<float>(weight_decay),
                     static_cast<float>(1 - lr * weight_decay),
                     w1,
                     1.0f - w1,
                     static_cast<float>(beta2),
                     static_cast<float>(1 - beta2),
                     static_cast<float>(bias_correction2_sqrt),
                     static_cast<float>(eps),
                     static_cast<float>(-step_size)};
  const int decay = weight_decay == 0 ? kNoDecay : decoupled_weight_decay ? kDecoupled : kL2;
  const bool small = std::fabs(w1) < 0.5f;
  auto run = [&](auto decay_c, auto ams, auto sm) {
    for_chunks(n, [&](int64_t b, int64_t e) {
      adam_range<decltype(decay_c)::value, decltype(ams)::value, decltype(sm)::value>(
          param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, b, e, c);
    });
  };
  with_flag(max_exp_avg_sq != nullptr, [&](auto ams) {
    with_flag(small, [&](auto sm) {
      if (decay == kNoDecay) run(std::integral_constant<int, kNoDecay>{}, ams, sm);
      else if (decay == kL2) run(std::integral_constant<int, kL2>{}, ams, sm);
      else run(std::integral_constant<int, kDecoupled>{}, ams, sm);
    });
  });
  return Status::Ok;
}

Status rmsprop_step(float* param, const float* grad, float* square_avg, float* grad_avg,
                    float* momentum_buf, int64_t n, double lr, double alpha, double eps,
                    double weight_decay, double momentum) {
  if (bad(n)) return Status::InvalidDims;
  if (n > 0 && (!param || !grad || !square_avg || (momentum > 0 && !momentum_buf)))
    return Status::NullPointer;
  const float one_minus_alpha = static_cast<float>(1 - alpha);
  const RmspropConsts c{static_cast<float>(weight_decay), static_cast<float>(alpha), one_minus_alpha,
                        1.0f - one_minus_alpha,           static_cast<float>(eps),
                        static_cast<float>(momentum),     static_cast<float>(-lr)};
  const bool small = std::fabs(one_minus_alpha) < 0.5f;
  with_flag(weight_decay != 0, [&](auto decay) {
    with_flag(grad_avg != nullptr, [&](auto centered) {
      with_flag(momentum > 0, [&](auto mom) {
        with_flag(small, [&](auto sm) {
          for_chunks(n, [&](int64_t b, int64_t e) {
            rmsprop_range<decltype(decay)::value, decltype(centered)::value, decltype(mom)::value,
                          decltype(sm)::value>(param, grad, square_avg, grad_avg, momentum_buf, b, e,
                                               c);
          });
        });
      });
    });
  });
  return Status::Ok;
}

Status adagrad_step(float* param, const float* grad, float* state_sum, int64_t n, double step,
                    double lr, double lr_decay, double weight_decay, double eps) {
  if (bad(n) || !(step >= 1)) return Status::InvalidDims;
  if (n > 0 && (!param || !grad || !state_sum)) return Status::NullPointer;
  const double clr = lr / (1 + (step - 1) * lr_decay);
  const float wd = static_cast<float>(weight_decay), e = static_cast<float>(eps),
              neg_clr = static_cast<float>(-clr);
  with_flag(weight_decay != 0, [&](auto decay) {
    for_chunks(n, [&](int64_t b, int64_t en) {
      adagrad_range<decltype(decay)::value>(param, grad, state_sum, b, en, wd, e, neg_clr);
    });
  });
  return Status::Ok;
}

double sum_squares(const float* x, int64_t n) {
  // Eight independent double accumulators in a fixed order: deterministic and vectorisable.
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) {
      const double v = x[i + k];
      acc[k] += v * v;
    }
  }
  for (int k = 0; i < n; ++i, ++k) {
    const double v = x[i];
    acc[k] += v * v;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double max_abs(const float* x, int64_t n) {
  float m = 0;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    nan |= a != a;
    m = a > m ? a : m;
  }
  return nan ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(m);
}

void scale_in_place(float* x, int64_t n, float s) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    float* __restrict p = x;
    for (int64_t i = b; i < e; ++i) p[i] = p[i] * s;
  });
}

void clamp_in_place(float* x, int64_t n, float lo, float hi) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    float* __restrict p = x;
    for (int64_t i = b; i < e; ++i) {
      const float v = p[i];
      p[i] = v < lo ? lo : (v > hi ? hi : v);  // comparisons with NaN are false: NaN passes through
    }
  });
}

}  // namespace lstm
