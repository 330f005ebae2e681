// Argument unpacking for the binding files: typed arrays to raw pointers without copying, every
// length checked against the size the caller says, every failure a JS TypeError/RangeError with a
// `code`, never an abort. Built with NAPI_DISABLE_CPP_EXCEPTIONS: a failed check throws a pending JS
// exception, marks the context failed, and the entry point returns as soon as it sees !ok().
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace lstm_binding {

enum class DType { F32, F64 };

class CallContext {
 public:
  CallContext(Napi::Env env, const char* fn) : env_(env), fn_(fn) {}

  bool ok() const { return ok_; }
  Napi::Env env() const { return env_; }
  const char* fn() const { return fn_; }

  // Throws `TypeError`/`RangeError` "<fn>: <message>" with the given code, once per call.
  void type_error(const std::string& message, const char* code = "ERR_LSTM_ARG_TYPE");
  void range_error(const std::string& message, const char* code = "ERR_LSTM_ARG_RANGE");

  // The single call-object argument of the entry points; false (TypeError thrown) for anything else.
  bool call_object(const Napi::CallbackInfo& info, Napi::Object* out);

  // An integer in [lo, hi].
  int32_t int_arg(const Napi::Value& v, const char* name, int64_t lo, int64_t hi);
  double number_arg(const Napi::Value& v, const char* name);
  bool bool_arg(const Napi::Value& v, const char* name);
  std::string string_arg(const Napi::Value& v, const char* name);

  // The float type of a Float32Array or Float64Array (F32 after a failure).
  DType dtype_of(const Napi::Value& v, const char* name);

  // A typed array of element type T (float, double or int32_t) with at least `need` elements
  // (exactly `need` when exact); nullptr when optional and v is undefined or null.
  // `what` explains `need` in the message, e.g. "T*B*I".
  template <typename T>
  T* array(const Napi::Value& v, const char* name, size_t need, const char* what, bool optional = false,
           bool exact = true);

  // A field of an object argument.
  static Napi::Value field(const Napi::Object& o, const char* key) { return o.Get(key); }

 private:
  Napi::Env env_;
  const char* fn_;
  bool ok_ = true;
};

// Human-readable description of a JS value for error messages: "a Float64Array of 12 elements",
// "undefined", "the number 1.5", "a string".
std::string describe(const Napi::Value& v);

// Throws a JS Error with `code` from a kernel status (used after argument checks passed).
void throw_error(Napi::Env env, const std::string& message, const char* code);

}  // namespace lstm_binding
