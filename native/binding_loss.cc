// Placeholder: replaced by the loss binding.
#include <napi.h>

namespace lstm_binding {
void RegisterLoss(Napi::Env, Napi::Object) {}
}  // namespace lstm_binding
