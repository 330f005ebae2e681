// Module init: registers each binding file's functions. Nothing else lives here. The test addon
// (CMake option LSTM_NATIVE_TEST_HOOKS) also registers the test hooks of native/testing/.
#include <napi.h>

namespace lstm_binding {
void RegisterInfo(Napi::Env env, Napi::Object exports);   // binding_info.cc
void RegisterLstm(Napi::Env env, Napi::Object exports);   // binding_lstm.cc
void RegisterOptim(Napi::Env env, Napi::Object exports);  // binding_optim.cc
void RegisterLoss(Napi::Env env, Napi::Object exports);   // binding_loss.cc
void RegisterOps(Napi::Env env, Napi::Object exports);    // binding_ops.cc
#if defined(LSTM_NATIVE_TEST_HOOKS)
void RegisterGatesTesting(Napi::Env env, Napi::Object exports);  // testing/binding_testing_gates.cc
void RegisterGemmTesting(Napi::Env env, Napi::Object exports);   // testing/binding_testing_gemm.cc
void RegisterSchedTesting(Napi::Env env, Napi::Object exports);  // testing/binding_testing_sched.cc
#endif
}  // namespace lstm_binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lstm_binding::RegisterInfo(env, exports);
  lstm_binding::RegisterLstm(env, exports);
  lstm_binding::RegisterOptim(env, exports);
  lstm_binding::RegisterLoss(env, exports);
  lstm_binding::RegisterOps(env, exports);
#if defined(LSTM_NATIVE_TEST_HOOKS)
  lstm_binding::RegisterGatesTesting(env, exports);
  lstm_binding::RegisterGemmTesting(env, exports);
  lstm_binding::RegisterSchedTesting(env, exports);
#endif
  return exports;
}

NODE_API_MODULE(lstm_native, Init)
