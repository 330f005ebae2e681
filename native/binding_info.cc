// backendInfo() and setNumThreads(): what the addon was built with and dispatches to, and the one
// thread knob (our pool and OpenBLAS's together).
#include <napi.h>

#include "binding_util.h"
#include "cpu_features.h"
#include "gemm.h"
#include "gemm_choice.h"
#include "lstm_recurrent.h"
#include "thread_pool.h"

namespace lstm_binding {
namespace {

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("blas", Napi::String::New(env, lstm::gemm_backend_name()));
  out.Set("isa", Napi::String::New(env, lstm::isa_name(lstm::active_isa())));
  out.Set("threads", Napi::Number::New(env, lstm::num_threads()));
  lstm::Isa isas[8];
  int n = lstm::cpu_supported_isas(isas, 8);
  Napi::Array list = Napi::Array::New(env, n);
  for (int i = 0; i < n; ++i) list.Set(static_cast<uint32_t>(i), Napi::String::New(env, lstm::isa_name(isas[i])));
  out.Set("supportedIsas", list);
  // The fast LSTM step's kernel set (lstm_recurrent.h): "avx512", "avx2", "scalar", or "emu512"
  // (the 16-lane kernels emulated on AVX2, LSTM_NATIVE_STEP_KERNELS=emu512, for tests).
  out.Set("stepKernels", Napi::String::New(env, lstm::rec::rec_kernels().name));
  // The GEMM each class of product runs on (gemm_choice.h; the first report of a class may run
  // its calibration, a few ms).
  Napi::Object gemm = Napi::Object::New(env);
  for (int u = 0; u < lstm::kGemmUses; ++u) {
    const auto use = static_cast<lstm::GemmUse>(u);
    const char* impl = lstm::gemm_impl_name(lstm::gemm_impl_for(use));
    gemm.Set(lstm::gemm_use_name(use), Napi::String::New(env, impl));
  }
  out.Set("gemm", gemm);
  return out;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  CallContext ctx(info.Env(), "setNumThreads");
  int n = ctx.int_arg(info[0], "n", 1, 1024);
  if (!ctx.ok()) return info.Env().Undefined();
  lstm::set_num_threads(n);
  lstm::gemm_set_blas_threads(n);
  return info.Env().Undefined();
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
}

}  // namespace lstm_binding
