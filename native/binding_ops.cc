// linearForward / linearBackward: the Linear layer's products over the GEMM seam. Every array's
// type and length is checked against N, in, out; float32 or float64 (all arrays of one call alike).
#include <napi.h>

#include "binding_util.h"
#include "ops_linear.h"

namespace lstm_binding {
namespace {

constexpr int64_t kMaxDim = INT32_MAX;

struct LinearDims {
  int N, in, out;
};

bool read_dims(CallContext& ctx, const Napi::Object& o, LinearDims* d) {
  d->N = ctx.int_arg(o.Get("N"), "N", 0, kMaxDim);
  d->in = ctx.int_arg(o.Get("in"), "in", 1, kMaxDim);
  d->out = ctx.int_arg(o.Get("out"), "out", 1, kMaxDim);
  if (!ctx.ok()) return false;
  if (static_cast<int64_t>(d->N) * d->in > kMaxDim || static_cast<int64_t>(d->N) * d->out > kMaxDim ||
      static_cast<int64_t>(d->in) * d->out > kMaxDim) {
    ctx.range_error("N*in, N*out and in*out must each be below 2^31");
    return false;
  }
  return true;
}

template <typename F>
void forward(CallContext& ctx, const Napi::Object& o, const LinearDims& d) {
  const size_t N = d.N, in = d.in, out = d.out;
  F* y = ctx.array<F>(o.Get("y"), "y", N * out, "N*out");
  const F* x = ctx.array<F>(o.Get("x"), "x", N * in, "N*in");
  const F* W = ctx.array<F>(o.Get("weight"), "weight", out * in, "out*in");
  const F* b = ctx.array<F>(o.Get("bias"), "bias", out, "out", true);
  if (ctx.ok()) lstm::linear_forward<F>(y, x, W, b, d.N, d.in, d.out);
}

template <typename F>
void backward(CallContext& ctx, const Napi::Object& o, const LinearDims& d) {
  const size_t N = d.N, in = d.in, out = d.out;
  F* dx = ctx.array<F>(o.Get("dx"), "dx", N * in, "N*in", true);
  F* dW = ctx.array<F>(o.Get("dWeight"), "dWeight", out * in, "out*in");
  F* db = ctx.array<F>(o.Get("dBias"), "dBias", out, "out", true);
  const F* dy = ctx.array<F>(o.Get("dy"), "dy", N * out, "N*out");
  const F* x = ctx.array<F>(o.Get("x"), "x", N * in, "N*in");
  const F* W = ctx.array<F>(o.Get("weight"), "weight", out * in, "out*in");
  if (ctx.ok()) lstm::linear_backward<F>(dx, dW, db, dy, x, W, d.N, d.in, d.out);
}

template <void (*F32)(CallContext&, const Napi::Object&, const LinearDims&),
          void (*F64)(CallContext&, const Napi::Object&, const LinearDims&)>
Napi::Value run(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  CallContext ctx(env, fn);
  Napi::Object o;
  if (!ctx.call_object(info, &o)) return env.Undefined();
  LinearDims d{};
  DType dt = ctx.dtype_of(o.Get("x"), "x");
  if (!ctx.ok() || !read_dims(ctx, o, &d)) return env.Undefined();
  if (dt == DType::F32) F32(ctx, o, d); else F64(ctx, o, d);
  return env.Undefined();
}

Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  return run<forward<float>, forward<double>>(info, "linearForward");
}
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  return run<backward<float>, backward<double>>(info, "linearBackward");
}

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
  exports.Set("linearForward", Napi::Function::New(env, LinearForward, "linearForward"));
  exports.Set("linearBackward", Napi::Function::New(env, LinearBackward, "linearBackward"));
}

}  // namespace lstm_binding
