// Test hooks for the gates variants (test addon only; typed in test/helpers/testing-addon.ts):
//   _gatesForward(isa, rows, H, a, cPrev, c, tc, h)
//   _gatesBackward(isa, rows, H, da, dcPrev, gates, cPrev, tc, dh, dc)
//   _activation(isa, kind, x, out)
//   _supportedIsas()
// They let test/native/gates.test.ts run every SIMD variant the CPU supports against the scalar
// reference. Every argument is checked (an ISA this CPU cannot run is refused, never called: that
// would be SIGILL), then the kernel runs row by row on the caller's memory, without copies.
// Float64Array is accepted only with isa 'scalar': the SIMD variants are float32 only.
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "binding_util.h"
#include "cpu_features.h"
#include "gates.h"

namespace lstm_binding {
namespace {

// "avx2, scalar": what this CPU and build can run, best first.
std::string supported_list() {
  lstm::Isa isas[8];
  const int n = lstm::cpu_supported_isas(isas, 8);
  std::string s;
  for (int k = 0; k < n; ++k) {
    if (k) s += ", ";
    s += lstm::isa_name(isas[k]);
  }
  return s;
}

// The isa argument: a known name this CPU and build can run, else a RangeError naming it.
lstm::Isa isa_arg(CallContext& ctx, const Napi::Value& v) {
  const std::string name = ctx.string_arg(v, "isa");
  if (!ctx.ok()) return lstm::Isa::Scalar;
  lstm::Isa isa = lstm::Isa::Scalar;
  if (!lstm::isa_from_name(name.c_str(), &isa)) {
    ctx.range_error("isa '" + name + "' is unknown (supported here: " + supported_list() + ")");
  } else if (!lstm::cpu_supports(isa)) {
    ctx.range_error("isa '" + name + "' cannot run on this CPU/build (supported here: " +
                    supported_list() + ")");
  }
  return isa;
}

// The dtype of a call, from its first array. F64 only with scalar, so that a SIMD test can never
// silently compare the scalar code against itself.
DType call_dtype(CallContext& ctx, const Napi::Value& first, const char* name, lstm::Isa isa) {
  const DType dt = ctx.dtype_of(first, name);
  if (ctx.ok() && dt == DType::F64 && isa != lstm::Isa::Scalar) {
    ctx.type_error(std::string(name) + " is a Float64Array, which only isa 'scalar' accepts (isa '" +
                   lstm::isa_name(isa) + "' is float32 only)");
  }
  return dt;
}

// H up to 2^28 keeps 4H and every index the kernels form inside int.
constexpr int64_t kMaxH = int64_t{1} << 28;
constexpr int64_t kMaxRows = (int64_t{1} << 31) - 1;

template <typename F>
void run_forward(CallContext& ctx, const Napi::CallbackInfo& info, lstm::GatesForwardFn<F> fn,
                 int rows, int H) {
  const size_t n4 = static_cast<size_t>(rows) * 4 * H, n1 = static_cast<size_t>(rows) * H;
  F* a = ctx.array<F>(info[3], "a", n4, "rows*4H");
  const F* c_prev = ctx.array<F>(info[4], "cPrev", n1, "rows*H");
  F* c = ctx.array<F>(info[5], "c", n1, "rows*H");
  F* tc = ctx.array<F>(info[6], "tc", n1, "rows*H");
  F* h = ctx.array<F>(info[7], "h", n1, "rows*H");
  if (!ctx.ok()) return;
  for (int r = 0; r < rows; ++r) {
    const size_t o4 = static_cast<size_t>(r) * 4 * H, o1 = static_cast<size_t>(r) * H;
    fn(a + o4, c_prev + o1, c + o1, tc + o1, h + o1, H);
  }
}

template <typename F>
void run_backward(CallContext& ctx, const Napi::CallbackInfo& info, lstm::GatesBackwardFn<F> fn,
                  int rows, int H) {
  const size_t n4 = static_cast<size_t>(rows) * 4 * H, n1 = static_cast<size_t>(rows) * H;
  F* da = ctx.array<F>(info[3], "da", n4, "rows*4H");
  F* dc_prev = ctx.array<F>(info[4], "dcPrev", n1, "rows*H");
  const F* gates = ctx.array<F>(info[5], "gates", n4, "rows*4H");
  const F* c_prev = ctx.array<F>(info[6], "cPrev", n1, "rows*H");
  const F* tc = ctx.array<F>(info[7], "tc", n1, "rows*H");
  const F* dh = ctx.array<F>(info[8], "dh", n1, "rows*H");
  const F* dc = ctx.array<F>(info[9], "dc", n1, "rows*H");
  if (!ctx.ok()) return;
  for (int r = 0; r < rows; ++r) {
    const size_t o4 = static_cast<size_t>(r) * 4 * H, o1 = static_cast<size_t>(r) * H;
    fn(da + o4, dc_prev + o1, gates + o4, c_prev + o1, tc + o1, dh + o1, dc + o1, H);
  }
}

Napi::Value GatesForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_gatesForward");
  const lstm::Isa isa = isa_arg(ctx, info[0]);
  const int rows = ctx.int_arg(info[1], "rows", 0, kMaxRows);
  const int H = ctx.int_arg(info[2], "H", 1, kMaxH);
  const DType dt = call_dtype(ctx, info[3], "a", isa);
  if (!ctx.ok()) return env.Undefined();
  if (dt == DType::F64) {
    run_forward<double>(ctx, info, static_cast<lstm::GatesForwardFn<double>>(&lstm::gates_forward_scalar),
                        rows, H);
  } else {
    run_forward<float>(ctx, info, lstm::gates_forward_for(isa), rows, H);
  }
  return env.Undefined();
}

Napi::Value GatesBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_gatesBackward");
  const lstm::Isa isa = isa_arg(ctx, info[0]);
  const int rows = ctx.int_arg(info[1], "rows", 0, kMaxRows);
  const int H = ctx.int_arg(info[2], "H", 1, kMaxH);
  const DType dt = call_dtype(ctx, info[3], "da", isa);
  if (!ctx.ok()) return env.Undefined();
  if (dt == DType::F64) {
    run_backward<double>(ctx, info,
                         static_cast<lstm::GatesBackwardFn<double>>(&lstm::gates_backward_scalar), rows, H);
  } else {
    run_backward<float>(ctx, info, lstm::gates_backward_for(isa), rows, H);
  }
  return env.Undefined();
}

Napi::Value ActivationHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CallContext ctx(env, "_activation");
  const lstm::Isa isa = isa_arg(ctx, info[0]);
  const std::string kind_name = ctx.string_arg(info[1], "kind");
  if (!ctx.ok()) return env.Undefined();
  lstm::Activation kind;
  if (kind_name == "exp") kind = lstm::Activation::Exp;
  else if (kind_name == "sigmoid") kind = lstm::Activation::Sigmoid;
  else if (kind_name == "tanh") kind = lstm::Activation::Tanh;
  else {
    ctx.range_error("kind '" + kind_name + "' is unknown (expected 'exp', 'sigmoid' or 'tanh')");
    return env.Undefined();
  }
  const float* x = ctx.array<float>(info[2], "x", 0, "any length", false, /*exact=*/false);
  if (!ctx.ok()) return env.Undefined();
  const size_t n = info[2].As<Napi::TypedArray>().ElementLength();
  float* out = ctx.array<float>(info[3], "out", n, "x.length");
  if (!ctx.ok()) return env.Undefined();
  const lstm::ActivationFn fn = lstm::activation_for(isa, kind);
  // The kernels take an int count; a typed array can be longer than INT_MAX.
  constexpr size_t kChunk = size_t{1} << 30;
  for (size_t off = 0; off < n; off += kChunk) {
    const size_t len = n - off < kChunk ? n - off : kChunk;
    fn(out + off, x + off, static_cast<int>(len));
  }
  return env.Undefined();
}

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  lstm::Isa isas[8];
  const int n = lstm::cpu_supported_isas(isas, 8);
  Napi::Array list = Napi::Array::New(env, static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) list.Set(static_cast<uint32_t>(k), Napi::String::New(env, lstm::isa_name(isas[k])));
  return list;
}

}  // namespace

void RegisterGatesTesting(Napi::Env env, Napi::Object exports) {
  exports.Set("_gatesForward", Napi::Function::New(env, GatesForward, "_gatesForward"));
  exports.Set("_gatesBackward", Napi::Function::New(env, GatesBackward, "_gatesBackward"));
  exports.Set("_activation", Napi::Function::New(env, ActivationHook, "_activation"));
  exports.Set("_supportedIsas", Napi::Function::New(env, SupportedIsas, "_supportedIsas"));
}

}  // namespace lstm_binding
