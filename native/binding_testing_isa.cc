// Test hook for the x86 ISA decision (underscore name: not public API, typed in lib/binding.ts):
//   _x86IsaSupport({ avx2, fma, avx512f, avx512dq, osxsave, xcr0 }) -> { avx2, avx512 }
// Runs lstm::x86_isa_support (cpu_features.h), the function that decides at load which SIMD
// variants this CPU and OS can run, on made-up CPUID flags and XCR0 (a number below 2^53), so
// test/native/isa-dispatch.test.ts can check every combination on any machine. Decides nothing
// about this CPU and runs no SIMD code.
#include <napi.h>

#include <cstdint>
#include <string>

#include "binding_util.h"
#include "cpu_features.h"

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
  if (!(xcr0 >= 0 && xcr0 <= 9007199254740991.0 && xcr0 == static_cast<double>(static_cast<uint64_t>(xcr0)))) {
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

}  // namespace

void RegisterIsaTesting(Napi::Env env, Napi::Object exports) {
  exports.Set("_x86IsaSupport", Napi::Function::New(env, X86IsaSupport, "_x86IsaSupport"));
}

}  // namespace lstm_binding
