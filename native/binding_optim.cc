// sgdStep, adamStep, rmspropStep, adagradStep, sumSquares, maxAbs, scaleInPlace, clampInPlace:
// optimizer updates and gradient clipping over flat Float32Arrays (kernel/ops_optim.h). One call
// object each, as every entry point: `param` (or `x`) fixes n; every other array must be a
// Float32Array of exactly n elements. Numbers must be finite. Holds no state: the optimizer's
// buffers live in TypeScript (lib/optim/). Field names are typed in lib/binding.ts.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "binding_util.h"
#include "ops_optim.h"

namespace lstm_binding {
namespace {

// Reads the fields of one call object; every getter is a no-op after the first failure.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), ctx_(info.Env(), fn) {
    ctx_.call_object(info, &o_);
  }

  CallContext& ctx() { return ctx_; }
  bool ok() const { return ctx_.ok(); }
  Napi::Env env() const { return info_.Env(); }

  // The Float32Array that fixes n (any length).
  float* param(const char* name) {
    if (!ctx_.ok()) return nullptr;
    const Napi::Value v = o_.Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ctx_.type_error(std::string(name) + " must be a Float32Array, got " + describe(v));
      return nullptr;
    }
    n_ = v.As<Napi::Float32Array>().ElementLength();
    what_ = std::string(name) + ".length";
    return ctx_.array<float>(v, name, n_, what_.c_str());
  }

  // A Float32Array of exactly n elements; nullptr when optional and null/undefined.
  float* array(const char* name, bool optional = false) {
    if (!ctx_.ok()) return nullptr;
    return ctx_.array<float>(o_.Get(name), name, n_, what_.c_str(), optional);
  }

  double number(const char* name) {
    if (!ctx_.ok()) return 0;
    return ctx_.number_arg(o_.Get(name), name);
  }

  double finite(const char* name) {
    const double d = number(name);
    if (ctx_.ok() && !std::isfinite(d)) {
      // Spelled as JavaScript prints them, like lib/errors.ts describe().
      const char* js = std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
      ctx_.range_error(std::string(name) + " must be a finite number, got the number " + js);
    }
    return d;
  }

  // A step count: an integer >= 1 (up to 2^53).
  double step(const char* name) {
    const double d = number(name);
    if (ctx_.ok() && !(d >= 1 && d <= 9007199254740992.0 && d == std::floor(d))) {
      ctx_.range_error(std::string(name) + " must be an integer >= 1, got " + describe(o_.Get(name)));
    }
    return d;
  }

  bool flag(const char* name) {
    if (!ctx_.ok()) return false;
    return ctx_.bool_arg(o_.Get(name), name);
  }

  int64_t n() const { return static_cast<int64_t>(n_); }

 private:
  const Napi::CallbackInfo& info_;
  CallContext ctx_;
  Napi::Object o_;
  size_t n_ = 0;
  std::string what_;
};

Napi::Value finish(Args& a, lstm::Status s) {
  if (s != lstm::Status::Ok) {
    throw_error(a.env(), std::string(a.ctx().fn()) + ": kernel failed: " + lstm::status_message(s),
                "ERR_LSTM_NATIVE");
  }
  return a.env().Undefined();
}

// sgdStep({ param, grad, momentumBuffer?, lr, momentum, dampening, weightDecay, nesterov,
//           firstStep }): momentumBuffer is required when momentum != 0 and unused otherwise.
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a(info, "sgdStep");
  float* p = a.param("param");
  const float* g = a.array("grad");
  const double lr = a.finite("lr"), momentum = a.finite("momentum"),
               dampening = a.finite("dampening"), wd = a.finite("weightDecay");
  const bool nesterov = a.flag("nesterov"), first = a.flag("firstStep");
  float* buf = momentum != 0 ? a.array("momentumBuffer") : nullptr;
  if (!a.ok()) return info.Env().Undefined();
  return finish(a, lstm::sgd_step(p, g, buf, a.n(), lr, momentum, dampening, wd, nesterov, first));
}

// adamStep({ param, grad, expAvg, expAvgSq, maxExpAvgSq?, step, lr, beta1, beta2, eps,
//            weightDecay, decoupledWeightDecay }): maxExpAvgSq given means amsgrad.
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamStep");
  float* p = a.param("param");
  const float* g = a.array("grad");
  float* m = a.array("expAvg");
  float* v = a.array("expAvgSq");
  float* vmax = a.array("maxExpAvgSq", true);
  const double step = a.step("step");
  const double lr = a.finite("lr"), beta1 = a.finite("beta1"), beta2 = a.finite("beta2"),
               eps = a.finite("eps"), wd = a.finite("weightDecay");
  const bool decoupled = a.flag("decoupledWeightDecay");
  if (!a.ok()) return info.Env().Undefined();
  return finish(a, lstm::adam_step(p, g, m, v, vmax, a.n(), step, lr, beta1, beta2, eps, wd, decoupled));
}

// rmspropStep({ param, grad, squareAvg, gradAvg?, momentumBuffer?, lr, alpha, eps, weightDecay,
//               momentum }): gradAvg given means centered; momentumBuffer is required when
//               momentum > 0 and unused otherwise.
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Args a(info, "rmspropStep");
  float* p = a.param("param");
  const float* g = a.array("grad");
  float* sq = a.array("squareAvg");
  float* ga = a.array("gradAvg", true);
  const double lr = a.finite("lr"), alpha = a.finite("alpha"), eps = a.finite("eps"),
               wd = a.finite("weightDecay"), momentum = a.finite("momentum");
  float* buf = momentum > 0 ? a.array("momentumBuffer") : nullptr;
  if (!a.ok()) return info.Env().Undefined();
  return finish(a, lstm::rmsprop_step(p, g, sq, ga, buf, a.n(), lr, alpha, eps, wd, momentum));
}

// adagradStep({ param, grad, stateSum, step, lr, lrDecay, weightDecay, eps })
Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  Args a(info, "adagradStep");
  float* p = a.param("param");
  const float* g = a.array("grad");
  float* sum = a.array("stateSum");
  const double step = a.step("step");
  const double lr = a.finite("lr"), lr_decay = a.finite("lrDecay"),
               wd = a.finite("weightDecay"), eps = a.finite("eps");
  if (!a.ok()) return info.Env().Undefined();
  return finish(a, lstm::adagrad_step(p, g, sum, a.n(), step, lr, lr_decay, wd, eps));
}

// sumSquares({ x }): sum of x[i]^2 in double.
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info, "sumSquares");
  const float* x = a.param("x");
  if (!a.ok()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), lstm::sum_squares(x, a.n()));
}

// maxAbs({ x }): max |x[i]|, NaN when any element is NaN.
Napi::Value MaxAbs(const Napi::CallbackInfo& info) {
  Args a(info, "maxAbs");
  const float* x = a.param("x");
  if (!a.ok()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), lstm::max_abs(x, a.n()));
}

// scaleInPlace({ x, s }): x *= float(s). s may be NaN or 0 (clipping a non-finite norm, as torch).
Napi::Value ScaleInPlace(const Napi::CallbackInfo& info) {
  Args a(info, "scaleInPlace");
  float* x = a.param("x");
  const double s = a.number("s");
  if (!a.ok()) return info.Env().Undefined();
  lstm::scale_in_place(x, a.n(), static_cast<float>(s));
  return info.Env().Undefined();
}

// clampInPlace({ x, lo, hi }): x = min(max(x, lo), hi), lo <= hi.
Napi::Value ClampInPlace(const Napi::CallbackInfo& info) {
  Args a(info, "clampInPlace");
  float* x = a.param("x");
  const double lo = a.finite("lo"), hi = a.finite("hi");
  if (a.ok() && !(lo <= hi)) {
    std::ostringstream s;
    s << "lo must be <= hi, got lo " << lo << " and hi " << hi;
    a.ctx().range_error(s.str());
  }
  if (!a.ok()) return info.Env().Undefined();
  lstm::clamp_in_place(x, a.n(), static_cast<float>(lo), static_cast<float>(hi));
  return info.Env().Undefined();
}

}  // namespace

void RegisterOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep, "sgdStep"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
  exports.Set("rmspropStep", Napi::Function::New(env, RmspropStep, "rmspropStep"));
  exports.Set("adagradStep", Napi::Function::New(env, AdagradStep, "adagradStep"));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares, "sumSquares"));
  exports.Set("maxAbs", Napi::Function::New(env, MaxAbs, "maxAbs"));
  exports.Set("scaleInPlace", Napi::Function::New(env, ScaleInPlace, "scaleInPlace"));
  exports.Set("clampInPlace", Napi::Function::New(env, ClampInPlace, "clampInPlace"));
}

}  // namespace lstm_binding
