// lstmWorkspaceSize, lstmForward(Async), lstmBackward(Async): one LSTM layer-direction per call.
// Unpacks the call object into kernel pointers, checks every length against the dims it is told,
// runs the kernel here or on libuv's pool (Promise variants), and turns a Status into a JS error.
// Holds no model state.
// Sync calls use the caller's arrays directly (no copies). An async call copies the arrays it only
// reads that come from the user (x, h0, c0, lengths, dy, dhn, dcn) into memory the call owns before
// it returns: JS may mutate, transfer or detach them while the worker runs (a reference does not
// stop a transfer, and the transferred memory can be freed), and the result must be what the arrays
// held when the call was made. The weights are not copied (for a large model that copy is most of
// the call's main-thread time): they and every array the call writes (y, hn, cn, the workspace,
// the gradients) are the library's own, which keeps them unchanged until the promise settles (the
// model is busy: lib/parameters.ts) and cannot have them detached (their buffers are marked
// untransferable: a transfer copies them instead). Optional `xOwned` (both) and `dyOwned`
// (backward): x / dy is the library's own in the same way (a saved activation, a gradient between
// layers), so it is pinned, not copied. Field names are typed in lib/binding.ts (NativeLstmForward).
// Optional fields: `training` (forward; default true): false runs lstm_forward_inference, whose
// workspace is lstmWorkspaceSize(T, B, I, H, P, false) and cannot be used for backward.
// The test addon (LSTM_NATIVE_TEST_HOOKS) also reads `_path: 'reference' | 'fast'` (forward and
// backward): 'reference' runs the reference kernels; the shipped addon has no such field.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "binding_util.h"
#include "lstm.h"

namespace lstm_binding {
namespace {

constexpr int64_t kMaxDim = INT32_MAX;

// Every typed array a call uses is referenced until the async work settles, so GC cannot free it.
using Pins = std::vector<Napi::Reference<Napi::Value>>;

// The copies an async call owns of the arrays it only reads. add() copies n elements from *p and
// points *p at the copy; nothing is copied for a null pointer. Throws std::bad_alloc.
template <typename F>
class OwnedInputs {
 public:
  template <typename T>
  void add(const T** p, size_t n) {
    if (*p == nullptr || n == 0) return;
    auto copy = std::make_unique<T[]>(n);
    std::memcpy(copy.get(), *p, n * sizeof(T));
    *p = copy.get();
    if constexpr (std::is_same_v<T, int32_t>) {
      ints_.push_back(std::move(copy));
    } else {
      floats_.push_back(std::move(copy));
    }
  }

 private:
  std::vector<std::unique_ptr<F[]>> floats_;
  std::vector<std::unique_ptr<int32_t[]>> ints_;
};

struct Common {
  lstm::LstmDims d;
  const int32_t* lengths = nullptr;
  bool reference = false;  // `_path: 'reference'` (test addon only)
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
#if defined(LSTM_NATIVE_TEST_HOOKS)
  Napi::Value path = o.Get("_path");
  if (!path.IsUndefined() && !path.IsNull()) {
    const std::string s = ctx.string_arg(path, "_path");
    if (ctx.ok() && s != "reference" && s != "fast") ctx.range_error("_path must be 'reference' or 'fast'");
    c->reference = s == "reference";
  }
#endif
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
    if (static_cast<int64_t>(offset) + hout > *ld) {  // 64 bits: offset may be near INT32_MAX
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

// Copies the lengths into `own` (async calls; the weights are the library's, see the top).
template <typename F>
void own_lengths(OwnedInputs<F>* own, Common* c) {
  own->add(&c->lengths, static_cast<size_t>(c->d.B));
}

template <typename F>
struct ForwardJob {
  Common c;
  lstm::LstmParams<F> p;
  F *y = nullptr, *hn = nullptr, *cn = nullptr, *ws = nullptr;
  const F *x = nullptr, *h0 = nullptr, *c0 = nullptr;
  int ldy = 0;
  bool training = true;
  bool x_owned = false;  // `xOwned`: x is the library's, not copied
  // Copies the user's arrays the forward only reads into `own` (an async call).
  void own_inputs(OwnedInputs<F>* own) {
    const lstm::LstmDims& d = c.d;
    own_lengths(own, &c);
    if (!x_owned) own->add(&x, static_cast<size_t>(d.T) * d.B * d.I);
    own->add(&h0, static_cast<size_t>(d.B) * d.hout());
    own->add(&c0, static_cast<size_t>(d.B) * d.H);
  }
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
  bool x_owned = false, dy_owned = false;  // `xOwned`, `dyOwned`: the library's, not copied
  // Copies the user's arrays the backward only reads into `own` (an async call). dy: the span the
  // kernel reads, rows of Hout at stride ldy (the copy keeps the stride).
  void own_inputs(OwnedInputs<F>* own) {
    const lstm::LstmDims& d = c.d;
    const size_t rows = static_cast<size_t>(d.T) * d.B;
    own_lengths(own, &c);
    if (!x_owned) own->add(&x, rows * d.I);
    if (!dy_owned) own->add(&dy, (rows - 1) * ldy + d.hout());
    own->add(&dhn, static_cast<size_t>(d.B) * d.hout());
    own->add(&dcn, static_cast<size_t>(d.B) * d.H);
  }
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
  j->x_owned = optional_bool(ctx, o, "xOwned", false);
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
  j->x_owned = optional_bool(ctx, o, "xOwned", false);
  j->dy_owned = optional_bool(ctx, o, "dyOwned", false);
  return ctx.ok();
}

void throw_status(Napi::Env env, const char* fn, lstm::Status s) {
  throw_error(env, std::string(fn) + ": kernel failed: " + lstm::status_message(s), "ERR_LSTM_NATIVE");
}

// Runs a job on libuv's pool; resolves or rejects the promise on the main thread. The job's
// read-only inputs are copied when the worker is made (JobWorker::Create), so the worker never
// reads caller memory after the call returned.
template <typename Job, typename F>
class JobWorker : public Napi::AsyncWorker {
 public:
  // nullptr (and a pending JS exception) when the copies cannot be allocated.
  static JobWorker* Create(Napi::Env env, const char* fn, const Job& job, Pins pins) {
    auto* w = new JobWorker(env, fn, job, std::move(pins));
    try {
      w->job_.own_inputs(&w->own_);
    } catch (const std::bad_alloc&) {
      delete w;
      throw_error(env, std::string(fn) + ": out of memory for the copies of the call's inputs",
                  "ERR_LSTM_NATIVE");
      return nullptr;
    }
    return w;
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  // Off the main thread: touches only the plain job struct, never a Napi value. No C++ exception
  // leaves it (none may cross into libuv): one becomes the promise's rejection.
  void Execute() override {
    try {
      status_ = job_.run();
    } catch (const std::exception& e) {
      failure_ = e.what();
    } catch (...) {
      failure_ = "unknown C++ exception";
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!failure_.empty()) {
      Reject(std::string(fn_) + ": kernel failed: " + failure_);
    } else if (status_ != lstm::Status::Ok) {
      Reject(std::string(fn_) + ": kernel failed: " + lstm::status_message(status_));
    } else {
      deferred_.Resolve(env.Undefined());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  JobWorker(Napi::Env env, const char* fn, const Job& job, Pins pins)
      : Napi::AsyncWorker(env, fn), fn_(fn), job_(job), pins_(std::move(pins)), deferred_(env) {}

  void Reject(const std::string& message) {
    Napi::Error err = Napi::Error::New(Env(), message);
    err.Set("code", Napi::String::New(Env(), "ERR_LSTM_NATIVE"));
    deferred_.Reject(err.Value());
  }

  const char* fn_;
  Job job_;
  OwnedInputs<F> own_;
  Pins pins_;
  Napi::Promise::Deferred deferred_;
  lstm::Status status_ = lstm::Status::Ok;
  std::string failure_;  // what() of an exception from the kernel, if any
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
    using F = std::remove_pointer_t<decltype(job.ws)>;
    auto* w = JobWorker<J, F>::Create(env, fn, job, std::move(pins));
    if (w == nullptr) return env.Undefined();
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

// lstmWorkspaceSize({ T, B, I, H, P, training? }): elements of the workspace for these dims.
Napi::Value WorkspaceSize(const Napi::CallbackInfo& info) {
  CallContext ctx(info.Env(), "lstmWorkspaceSize");
  Napi::Object o;
  if (!ctx.call_object(info, &o)) return info.Env().Undefined();
  lstm::LstmDims d;
  d.T = ctx.int_arg(o.Get("T"), "T", 1, kMaxDim);
  d.B = ctx.int_arg(o.Get("B"), "B", 1, kMaxDim);
  d.I = ctx.int_arg(o.Get("I"), "I", 1, kMaxDim);
  d.H = ctx.int_arg(o.Get("H"), "H", 1, kMaxDim);
  d.P = ctx.int_arg(o.Get("P"), "P", 0, kMaxDim);
  const bool training = optional_bool(ctx, o, "training", true);
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
