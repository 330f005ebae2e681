// lstmWorkspaceSize, lstmForward(Async), lstmBackward(Async): one LSTM layer-direction per call.
// Unpacks the call object into kernel pointers (no copies), checks every length against the dims it
// is told, runs the kernel here or on libuv's pool (Promise variants), and turns a Status into a
// JS error. Holds no model state. Field names are typed in lib/binding.ts (NativeLstmForward).
// Optional fields: `training` (forward; default true): false runs lstm_forward_inference, whose
// workspace is lstmWorkspaceSize(T, B, I, H, P, false) and cannot be used for backward.
// `_path: 'reference'` (test hook, forward and backward): the straightforward kernel path.
#include <napi.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "binding_util.h"
#include "lstm.h"

namespace lstm_binding {
namespace {

constexpr int64_t kMaxDim = INT32_MAX;

// Every typed array a call uses is referenced until the async work settles, so GC cannot free it.
using Pins = std::vector<Napi::Reference<Napi::Value>>;

struct Common {
  lstm::LstmDims d;
  const int32_t* lengths = nullptr;
  bool reference = false;  // `_path: 'reference'`
};

// Optional boolean field, `fallback` when absent.
bool optional_bool(CallContext& ctx, const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  return ctx.bool_arg(v, key);
}

// Reads T, B, I, H, P, reverse and lengths; checks lengths' values.
bool read_dims(CallContext& ctx, const Napi::Object& o, Common* c, Pins* pins) {
  lstm::LstmDims& d = c->d;
  d.T = ctx.int_arg(o.Get("T"), "T", 1, kMaxDim);
  d.B = ctx.int_arg(o.Get("B"), "B", 1, kMaxDim);
  d.I = ctx.int_arg(o.Get("I"), "I", 1, kMaxDim);
  d.H = ctx.int_arg(o.Get("H"), "H", 1, kMaxDim);
  d.P = ctx.int_arg(o.Get("P"), "P", 0, kMaxDim);
  d.reverse = ctx.bool_arg(o.Get("reverse"), "reverse");
  Napi::Value path = o.Get("_path");
  if (!path.IsUndefined() && !path.IsNull()) {
    const std::string s = ctx.string_arg(path, "_path");
    if (ctx.ok() && s != "reference" && s != "fast") ctx.range_error("_path must be 'reference' or 'fast'");
    c->reference = s == "reference";
  }
  if (!ctx.ok()) return false;
  if (lstm::lstm_workspace_size(d) == 0) {
    std::ostringstream s;
    s << "dims T=" << d.T << " B=" << d.B << " I=" << d.I << " H=" << d.H << " P=" << d.P
      << " are too large (every buffer must have fewer than 2^31 elements)";
    ctx.range_error(s.str());
    return false;
  }
  Napi::Value lv = o.Get("lengths");
  c->lengths = ctx.array<int32_t>(lv, "lengths", d.B, "B", true);
  if (!ctx.ok()) return false;
  if (c->lengths) {
    pins->push_back(Napi::Persistent(lv));
    for (int b = 0; b < d.B; ++b) {
      if (c->lengths[b] < 0 || c->lengths[b] > d.T) {
        std::ostringstream s;
        s << "lengths[" << b << "] must be in [0, " << d.T << "] (T), got " << c->lengths[b];
        ctx.range_error(s.str());
        return false;
      }
    }
  }
  return true;
}

template <typename F>
struct ArrayReader {
  CallContext& ctx;
  const Napi::Object& o;
  Pins* pins;
  // A float array field of exactly `need` elements (at least, when !exact); optional may be absent.
  F* get(const char* key, size_t need, const char* what, bool optional = false, bool exact = true) {
    Napi::Value v = o.Get(key);
    F* p = ctx.array<F>(v, key, need, what, optional, exact);
    if (p) pins->push_back(Napi::Persistent(v));
    return p;
  }
  // A strided (T, B, ld) activation buffer used at column `offset`: y, dy.
  F* strided(const char* key, const char* off_key, const char* ld_key, const lstm::LstmDims& d,
             int* ld, bool optional) {
    Napi::Value v = o.Get(key);
    if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
    const int hout = d.hout();
    *ld = ctx.int_arg(o.Get(ld_key), ld_key, hout, kMaxDim);
    int offset = ctx.int_arg(o.Get(off_key), off_key, 0, kMaxDim);
    if (!ctx.ok()) return nullptr;
    if (offset + hout > *ld) {
      std::ostringstream s;
      s << off_key << " + Hout must be <= " << ld_key << " (" << *ld << "), got " << offset << " + " << hout;
      ctx.range_error(s.str());
      return nullptr;
    }
    size_t need = static_cast<size_t>(d.T) * d.B * static_cast<size_t>(*ld);
    std::string what = std::string("T*B*") + ld_key;
    F* p = ctx.array<F>(v, key, need, what.c_str(), false, true);
    if (!p) return nullptr;
    pins->push_back(Napi::Persistent(v));
    return p + offset;
  }
};

template <typename F>
bool read_params(ArrayReader<F>& r, const lstm::LstmDims& d, lstm::LstmParams<F>* p) {
  const size_t G4 = 4 * static_cast<size_t>(d.H);
  p->W_ih = r.get("wIh", G4 * d.I, "4H*I");
  p->W_hh = r.get("wHh", G4 * d.hout(), "4H*Hout");
  p->b_ih = r.get("bIh", G4, "4H");
  p->b_hh = r.get("bHh", G4, "4H");
  if (d.P > 0) {
    p->W_hr = r.get("wHr", static_cast<size_t>(d.P) * d.H, "P*H");
  } else if (!r.o.Get("wHr").IsUndefined() && !r.o.Get("wHr").IsNull()) {
    r.ctx.type_error("wHr must be absent when P is 0 (no projection)");
  }
  return r.ctx.ok();
}

template <typename F>
struct ForwardJob {
  Common c;
  lstm::LstmParams<F> p;
  F *y = nullptr, *hn = nullptr, *cn = nullptr, *ws = nullptr;
  const F *x = nullptr, *h0 = nullptr, *c0 = nullptr;
  int ldy = 0;
  bool training = true;
  lstm::Status run() const {
    if (!training) return lstm::lstm_forward_inference<F>(y, ldy, hn, cn, ws, x, h0, c0, c.lengths, p, c.d);
    if (c.reference) return lstm::lstm_forward_reference<F>(y, ldy, hn, cn, ws, x, h0, c0, c.lengths, p, c.d);
    return lstm::lstm_forward<F>(y, ldy, hn, cn, ws, x, h0, c0, c.lengths, p, c.d);
  }
};

template <typename F>
struct BackwardJob {
  Common c;
  lstm::LstmParams<F> p;
  lstm::LstmParamGrads<F> g;
  F *dx = nullptr, *dh0 = nullptr, *dc0 = nullptr, *ws = nullptr;
  const F *dy = nullptr, *dhn = nullptr, *dcn = nullptr, *x = nullptr;
  int ldy = 0;
  lstm::Status run() const {
    if (c.reference) {
      return lstm::lstm_backward_reference<F>(dx, dh0, dc0, g, ws, dy, ldy, dhn, dcn, x, c.lengths, p, c.d);
    }
    return lstm::lstm_backward<F>(dx, dh0, dc0, g, ws, dy, ldy, dhn, dcn, x, c.lengths, p, c.d);
  }
};

template <typename F>
bool read_forward(CallContext& ctx, const Napi::Object& o, ForwardJob<F>* j, Pins* pins) {
  if (!read_dims(ctx, o, &j->c, pins)) return false;
  const lstm::LstmDims& d = j->c.d;
  ArrayReader<F> r{ctx, o, pins};
  if (!read_params(r, d, &j->p)) return false;
  const size_t TB = static_cast<size_t>(d.T) * d.B;
  j->x = r.get("x", TB * d.I, "T*B*I");
  j->h0 = r.get("h0", static_cast<size_t>(d.B) * d.hout(), "B*Hout", true);
  j->c0 = r.get("c0", static_cast<size_t>(d.B) * d.H, "B*H", true);
  j->y = r.strided("y", "yOffset", "ldy", d, &j->ldy, false);
  j->hn = r.get("hn", static_cast<size_t>(d.B) * d.hout(), "B*Hout", true);
  j->cn = r.get("cn", static_cast<size_t>(d.B) * d.H, "B*H", true);
  j->training = optional_bool(ctx, o, "training", true);
  if (!ctx.ok()) return false;
  if (j->training) {
    j->ws = r.get("workspace", lstm::lstm_workspace_size(d), "lstmWorkspaceSize(T, B, I, H, P)", false, false);
  } else {
    j->ws = r.get("workspace", lstm::lstm_workspace_inference_size(d),
                  "lstmWorkspaceSize(T, B, I, H, P, false)", false, false);
  }
  return ctx.ok();
}

template <typename F>
bool read_backward(CallContext& ctx, const Napi::Object& o, BackwardJob<F>* j, Pins* pins) {
  if (!read_dims(ctx, o, &j->c, pins)) return false;
  const lstm::LstmDims& d = j->c.d;
  ArrayReader<F> r{ctx, o, pins};
  if (!read_params(r, d, &j->p)) return false;
  const size_t TB = static_cast<size_t>(d.T) * d.B, G4 = 4 * static_cast<size_t>(d.H);
  j->x = r.get("x", TB * d.I, "T*B*I");
  j->dy = r.strided("dy", "dyOffset", "ldy", d, &j->ldy, true);
  j->dhn = r.get("dhn", static_cast<size_t>(d.B) * d.hout(), "B*Hout", true);
  j->dcn = r.get("dcn", static_cast<size_t>(d.B) * d.H, "B*H", true);
  j->dx = r.get("dx", TB * d.I, "T*B*I", true);
  j->dh0 = r.get("dh0", static_cast<size_t>(d.B) * d.hout(), "B*Hout", true);
  j->dc0 = r.get("dc0", static_cast<size_t>(d.B) * d.H, "B*H", true);
  j->g.dW_ih = r.get("dWIh", G4 * d.I, "4H*I");
  j->g.dW_hh = r.get("dWHh", G4 * d.hout(), "4H*Hout");
  j->g.db_ih = r.get("dBIh", G4, "4H");
  j->g.db_hh = r.get("dBHh", G4, "4H");
  if (d.P > 0) j->g.dW_hr = r.get("dWHr", static_cast<size_t>(d.P) * d.H, "P*H");
  j->ws = r.get("workspace", lstm::lstm_workspace_size(d), "lstmWorkspaceSize(T, B, I, H, P)", false, false);
  return ctx.ok();
}

void throw_status(Napi::Env env, const char* fn, lstm::Status s) {
  throw_error(env, std::string(fn) + ": kernel failed: " + lstm::status_message(s), "ERR_LSTM_NATIVE");
}

// Runs a job on libuv's pool; resolves or rejects the promise on the main thread.
template <typename Job>
class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, const char* fn, Job job, Pins pins)
      : Napi::AsyncWorker(env, fn), fn_(fn), job_(job), pins_(std::move(pins)), deferred_(env) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  // Off the main thread: touches only the plain job struct, never a Napi value.
  void Execute() override { status_ = job_.run(); }
  void OnOK() override {
    Napi::Env env = Env();
    if (status_ == lstm::Status::Ok) {
      deferred_.Resolve(env.Undefined());
    } else {
      Napi::Error err = Napi::Error::New(env, std::string(fn_) + ": kernel failed: " + lstm::status_message(status_));
      err.Set("code", Napi::String::New(env, "ERR_LSTM_NATIVE"));
      deferred_.Reject(err.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  const char* fn_;
  Job job_;
  Pins pins_;
  Napi::Promise::Deferred deferred_;
  lstm::Status status_ = lstm::Status::Ok;
};

// One entry point per (operation, sync/async): reads the call object in the dtype of its x.
template <template <typename> class Job, bool (*ReadF)(CallContext&, const Napi::Object&, Job<float>*, Pins*),
          bool (*ReadD)(CallContext&, const Napi::Object&, Job<double>*, Pins*)>
Napi::Value run_call(const Napi::CallbackInfo& info, const char* fn, bool async) {
  Napi::Env env = info.Env();
  CallContext ctx(env, fn);
  Napi::Object o;
  if (!ctx.call_object(info, &o)) return env.Undefined();
  DType dt = ctx.dtype_of(o.Get("x"), "x");
  if (!ctx.ok()) return env.Undefined();
  Pins pins;
  auto finish = [&](auto& job) -> Napi::Value {
    if (!async) {
      lstm::Status s = job.run();
      if (s != lstm::Status::Ok) throw_status(env, fn, s);
      return env.Undefined();
    }
    using J = std::decay_t<decltype(job)>;
    auto* w = new JobWorker<J>(env, fn, job, std::move(pins));
    Napi::Promise promise = w->promise();
    w->Queue();
    return promise;
  };
  if (dt == DType::F32) {
    Job<float> job;
    if (!ReadF(ctx, o, &job, &pins)) return env.Undefined();
    return finish(job);
  }
  Job<double> job;
  if (!ReadD(ctx, o, &job, &pins)) return env.Undefined();
  return finish(job);
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  return run_call<ForwardJob, read_forward<float>, read_forward<double>>(info, "lstmForward", false);
}
Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
  return run_call<ForwardJob, read_forward<float>, read_forward<double>>(info, "lstmForwardAsync", true);
}
Napi::Value Backward(const Napi::CallbackInfo& info) {
  return run_call<BackwardJob, read_backward<float>, read_backward<double>>(info, "lstmBackward", false);
}
Napi::Value BackwardAsync(const Napi::CallbackInfo& info) {
  return run_call<BackwardJob, read_backward<float>, read_backward<double>>(info, "lstmBackwardAsync", true);
}

Napi::Value WorkspaceSize(const Napi::CallbackInfo& info) {
  CallContext ctx(info.Env(), "lstmWorkspaceSize");
  lstm::LstmDims d;
  d.T = ctx.int_arg(info[0], "T", 1, kMaxDim);
  d.B = ctx.int_arg(info[1], "B", 1, kMaxDim);
  d.I = ctx.int_arg(info[2], "I", 1, kMaxDim);
  d.H = ctx.int_arg(info[3], "H", 1, kMaxDim);
  d.P = ctx.int_arg(info[4], "P", 0, kMaxDim);
  bool training = true;
  if (info.Length() > 5 && !info[5].IsUndefined()) training = ctx.bool_arg(info[5], "training");
  if (!ctx.ok()) return info.Env().Undefined();
  size_t n = training ? lstm::lstm_workspace_size(d) : lstm::lstm_workspace_inference_size(d);
  if (n == 0) {
    ctx.range_error("dims are too large (every buffer must have fewer than 2^31 elements)");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

}  // namespace

void RegisterLstm(Napi::Env env, Napi::Object exports) {
  exports.Set("lstmWorkspaceSize", Napi::Function::New(env, WorkspaceSize, "lstmWorkspaceSize"));
  exports.Set("lstmForward", Napi::Function::New(env, Forward, "lstmForward"));
  exports.Set("lstmForwardAsync", Napi::Function::New(env, ForwardAsync, "lstmForwardAsync"));
  exports.Set("lstmBackward", Napi::Function::New(env, Backward, "lstmBackward"));
  exports.Set("lstmBackwardAsync", Napi::Function::New(env, BackwardAsync, "lstmBackwardAsync"));
}

}  // namespace lstm_binding
