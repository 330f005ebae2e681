// Placeholder: replaced by the optim binding.
#include <napi.h>

namespace lstm_binding {
void RegisterOptim(Napi::Env, Napi::Object) {}
}  // namespace lstm_binding
