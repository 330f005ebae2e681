// softmaxCrossEntropy: the fused softmax cross-entropy forward + gradient (kernel/ops_softmax_xent.h)
// over (N, C) float32 logits and int32 class indices. Unpacks one call object into kernel pointers
// (no copies), checks every array's type and length against N and C and every target's value, runs
// the kernel on the calling thread, and returns the reduced loss. Synchronous: one call is a single
// pass over N*C floats. Field names are typed in lib/binding.ts (NativeSoftmaxCrossEntropy);
// lib/losses.ts checks the caller's arguments first, these checks keep a direct call from JS safe.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "binding_util.h"
#include "cpu_features.h"
#include "ops_softmax_xent.h"

namespace lstm_binding {
namespace {

constexpr int64_t kMaxDim = INT32_MAX;

Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "softmaxCrossEntropy");
  Napi::Object o;
  if (!ctx.call_object(info, &o)) return env.Undefined();
  lstm::SoftmaxXentArgs a;
  a.N = ctx.int_arg(o.Get("N"), "N", 0, kMaxDim);
  a.C = ctx.int_arg(o.Get("C"), "C", 1, kMaxDim);
  a.ignore_index = ctx.int_arg(o.Get("ignoreIndex"), "ignoreIndex", INT32_MIN, INT32_MAX);
  const double eps = ctx.number_arg(o.Get("labelSmoothing"), "labelSmoothing");
  const std::string reduction = ctx.string_arg(o.Get("reduction"), "reduction");
  if (!ctx.ok()) return env.Undefined();
  if (!(eps >= 0.0 && eps <= 1.0)) {
    ctx.range_error("labelSmoothing must be a finite number in [0, 1], got " + describe(o.Get("labelSmoothing")));
    return env.Undefined();
  }
  a.label_smoothing = static_cast<float>(eps);
  if (reduction == "mean") {
    a.reduction = lstm::Reduction::Mean;
  } else if (reduction == "sum") {
    a.reduction = lstm::Reduction::Sum;
  } else if (reduction == "none") {
    a.reduction = lstm::Reduction::None;
  } else {
    ctx.range_error("reduction must be 'mean', 'sum' or 'none', got \"" + reduction + "\"");
    return env.Undefined();
  }

  const size_t N = static_cast<size_t>(a.N), C = static_cast<size_t>(a.C);
  const size_t NC = N * C;  // both < 2^31: no overflow in 64-bit size_t
  a.logits = ctx.array<float>(o.Get("logits"), "logits", NC, "N*C");
  a.targets = ctx.array<int32_t>(o.Get("targets"), "targets", N, "N");
  a.weight = ctx.array<float>(o.Get("weight"), "weight", C, "C", true);
  // grad may be logits itself (in place): the kernel reads each row before writing it.
  a.grad = ctx.array<float>(o.Get("grad"), "grad", NC, "N*C");
  a.row_loss = ctx.array<float>(o.Get("rowLoss"), "rowLoss", N, "N", true);
  if (!ctx.ok()) return env.Undefined();

  const int64_t bad = lstm::softmax_xent_invalid_target(a.targets, a.N, a.C, a.ignore_index);
  if (bad >= 0) {
    std::ostringstream s;
    s << "targets[" << bad << "] must be a class index in [0, " << a.C << ") or ignoreIndex ("
      << a.ignore_index << "), got " << a.targets[bad];
    ctx.range_error(s.str());
    return env.Undefined();
  }

  lstm::Isa isa = lstm::active_isa();
#if defined(LSTM_NATIVE_TEST_HOOKS)
  // The test addon's `isa` forces one build of the loops ("scalar" = the baseline one).
  Napi::Value isa_value = o.Get("isa");
  if (!isa_value.IsUndefined()) {
    const std::string name = ctx.string_arg(isa_value, "isa");
    if (!ctx.ok()) return env.Undefined();
    if (!lstm::isa_from_name(name.c_str(), &isa) || !lstm::cpu_supports(isa)) {
      ctx.range_error("isa must be one of the ISAs this CPU runs (see _supportedIsas()), got \"" + name + "\"");
      return env.Undefined();
    }
  }
#endif

  double total = 0;
  lstm::Status status = lstm::softmax_xent(a, &total, isa);
  if (status != lstm::Status::Ok) {
    throw_error(env, std::string("softmaxCrossEntropy: kernel failed: ") + lstm::status_message(status),
                "ERR_LSTM_NATIVE");
    return env.Undefined();
  }
  return Napi::Number::New(env, total);
}

}  // namespace

void RegisterLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "softmaxCrossEntropy"));
}

}  // namespace lstm_binding
