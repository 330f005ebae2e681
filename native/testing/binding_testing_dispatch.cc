// Test hooks for the load-time dispatch decisions (underscore names: not public API, typed in
// lib/binding.ts), run on made-up inputs so test/native/isa-dispatch.test.ts can check every
// combination on any machine; they decide nothing about this process and run no SIMD code:
//   _x86IsaSupport({ avx2, fma, avx512f, avx512dq, osxsave, xcr0 }) -> { avx2, avx512 }
//     lstm::x86_isa_support (cpu_features.h): which SIMD variants a CPU and OS can run (xcr0 a
//     number below 2^53).
//   _gemmRule(haveOpenblas, builtinIsa, forced) -> 'builtin' | 'openblas' | 'calibrate'
//     lstm::gemm_rule (gemm_choice.h): the GEMM rule before any calibration; forced is the value
//     of LSTM_NATIVE_GEMM ('' when unset).
#include <napi.h>

#include <cstdint>
#include <string>

#include "binding_util.h"
#include "cpu_features.h"
#include "gemm_choice.h"

namespace lstm_binding {
namespace {

Napi::Value X86IsaSupport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_x86IsaSupport");
  Napi::Object o;
  if (!ctx.call_object(info, &o)) return env.Undefined();
  lstm::X86Features f;
  f.avx2 = ctx.bool_arg(o.Get("avx2"), "avx2");
  f.fma = ctx.bool_arg(o.Get("fma"), "fma");
  f.avx512f = ctx.bool_arg(o.Get("avx512f"), "avx512f");
  f.avx512dq = ctx.bool_arg(o.Get("avx512dq"), "avx512dq");
  f.osxsave = ctx.bool_arg(o.Get("osxsave"), "osxsave");
  const double xcr0 = ctx.number_arg(o.Get("xcr0"), "xcr0");
  if (!ctx.ok()) return env.Undefined();
  const bool integral = xcr0 >= 0 && xcr0 <= 9007199254740991.0 &&
                        xcr0 == static_cast<double>(static_cast<uint64_t>(xcr0));
  if (!integral) {
    ctx.range_error("xcr0 must be an integer in [0, 2^53), got " + std::to_string(xcr0));
    return env.Undefined();
  }
  f.xcr0 = static_cast<unsigned long long>(xcr0);
  const lstm::X86IsaSupport r = lstm::x86_isa_support(f);
  Napi::Object out = Napi::Object::New(env);
  out.Set("avx2", Napi::Boolean::New(env, r.avx2));
  out.Set("avx512", Napi::Boolean::New(env, r.avx512));
  return out;
}

Napi::Value GemmRule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_gemmRule");
  const bool blas = ctx.bool_arg(info[0], "haveOpenblas");
  const std::string isa_name = ctx.string_arg(info[1], "builtinIsa");
  const std::string forced = ctx.string_arg(info[2], "forced");
  if (!ctx.ok()) return env.Undefined();
  lstm::Isa isa = lstm::Isa::Scalar;
  if (!lstm::isa_from_name(isa_name.c_str(), &isa)) {
    ctx.range_error("builtinIsa must be 'scalar', 'avx2', 'avx512' or 'neon', got '" + isa_name + "'");
    return env.Undefined();
  }
  const lstm::GemmRule r = lstm::gemm_rule(blas, isa, forced.c_str());
  return Napi::String::New(env, r == lstm::GemmRule::Builtin    ? "builtin"
                                : r == lstm::GemmRule::OpenBlas ? "openblas"
                                                                : "calibrate");
}

}  // namespace

void RegisterDispatchTesting(Napi::Env env, Napi::Object exports) {
  exports.Set("_x86IsaSupport", Napi::Function::New(env, X86IsaSupport, "_x86IsaSupport"));
  exports.Set("_gemmRule", Napi::Function::New(env, GemmRule, "_gemmRule"));
}

}  // namespace lstm_binding
