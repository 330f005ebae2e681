// backendInfo() and setNumThreads(): what the addon was built with, the configuration it read from
// the environment (kernel_config.h) and the kernel variants it dispatches to (isa_table.h), and the
// one thread knob (our pool and OpenBLAS's together). Registering reads the configuration and
// builds the ISA table, so both are fixed when the addon has loaded.
#include <napi.h>

#include "binding_util.h"
#include "cpu_features.h"
#include "gemm.h"
#include "isa_table.h"
#include "kernel_config.h"
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

  const lstm::KernelConfig& c = lstm::kernel_config();
  Napi::Object config = Napi::Object::New(env);
  config.Set("isa", Napi::String::New(env, c.isa));
  config.Set("numThreads", Napi::Number::New(env, c.num_threads));
  config.Set("spinUs", Napi::Number::New(env, c.spin_us));
  config.Set("lstmPath", Napi::String::New(env, c.lstm_reference ? "reference" : "fast"));
  config.Set("lstmGemm", Napi::String::New(env, c.lstm_gemm_blas ? "blas" : "builtin"));
  config.Set("lstmSplit", Napi::String::New(env, c.lstm_split == 1 ? "rows" : c.lstm_split == 0 ? "units" : "auto"));
  config.Set("lstmFuseInput", Napi::Number::New(env, c.lstm_fuse_input < 0 ? -1 : c.lstm_fuse_input != 0 ? 1 : 0));
  config.Set("lstmHoistSteps", Napi::Number::New(env, c.lstm_hoist_steps < 0 ? 0 : c.lstm_hoist_steps));
  config.Set("lstmMinSplitFlops", Napi::Number::New(env, c.lstm_min_split_flops));
  out.Set("config", config);

  const lstm::IsaTable& t = lstm::isa_table();
  Napi::Object kernels = Napi::Object::New(env);
  kernels.Set("isa", Napi::String::New(env, lstm::isa_name(t.isa)));
  kernels.Set("gates", Napi::String::New(env, lstm::isa_name(t.isa)));
  kernels.Set("step", Napi::String::New(env, t.step->name));
  kernels.Set("gemm", Napi::String::New(env, t.gemm_f32->name));
  kernels.Set("softmax", Napi::String::New(env, lstm::isa_name(t.softmax)));
  out.Set("kernels", kernels);
  return out;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  CallContext ctx(info.Env(), "setNumThreads");
  Napi::Object o;
  if (!ctx.call_object(info, &o)) return info.Env().Undefined();
  int n = ctx.int_arg(o.Get("threads"), "threads", 1, 1024);
  if (!ctx.ok()) return info.Env().Undefined();
  lstm::set_num_threads(n);
  lstm::gemm_set_blas_threads(n);
  return info.Env().Undefined();
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  lstm::kernel_config();
  lstm::isa_table();
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
}

}  // namespace lstm_binding
