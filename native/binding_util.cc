// See binding_util.h.
#include "binding_util.h"

#include <cmath>
#include <sstream>
#include <type_traits>

namespace lstm_binding {
namespace {

template <typename T>
constexpr napi_typedarray_type typed_array_kind() {
  if constexpr (std::is_same_v<T, float>) return napi_float32_array;
  else if constexpr (std::is_same_v<T, double>) return napi_float64_array;
  else return napi_int32_array;
}

template <typename T>
constexpr const char* typed_array_name() {
  if constexpr (std::is_same_v<T, float>) return "Float32Array";
  else if constexpr (std::is_same_v<T, double>) return "Float64Array";
  else return "Int32Array";
}

const char* kind_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

void throw_with_code(Napi::Error err, const char* code) {
  err.Set("code", Napi::String::New(err.Env(), code));
  err.ThrowAsJavaScriptException();
}

}  // namespace

std::string describe(const Napi::Value& v) {
  std::ostringstream s;
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    const char* kind = kind_name(ta.TypedArrayType());
    // "an Int32Array" but "a Uint8Array", as lib/errors.ts describe() writes them.
    const bool vowel = kind[0] == 'I' || kind[0] == 'A' || kind[0] == 'E' || kind[0] == 'O';
    s << (vowel ? "an " : "a ") << kind << " of " << ta.ElementLength() << " elements";
    return s.str();
  }
  if (v.IsNumber()) {
    s << "the number " << v.As<Napi::Number>().DoubleValue();
    return s.str();
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an Array";
  if (v.IsFunction()) return "a function";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

void throw_error(Napi::Env env, const std::string& message, const char* code) {
  throw_with_code(Napi::Error::New(env, message), code);
}

void CallContext::type_error(const std::string& message, const char* code) {
  if (!ok_) return;
  ok_ = false;
  throw_with_code(Napi::TypeError::New(env_, std::string(fn_) + ": " + message), code);
}

bool CallContext::call_object(const Napi::CallbackInfo& info, Napi::Object* out) {
  if (!info[0].IsObject() || info[0].IsTypedArray() || info[0].IsArray() || info[0].IsFunction()) {
    type_error("expected one call object, got " + describe(info[0]));
    return false;
  }
  *out = info[0].As<Napi::Object>();
  return true;
}

void CallContext::range_error(const std::string& message, const char* code) {
  if (!ok_) return;
  ok_ = false;
  throw_with_code(Napi::RangeError::New(env_, std::string(fn_) + ": " + message), code);
}

int32_t CallContext::int_arg(const Napi::Value& v, const char* name, int64_t lo, int64_t hi) {
  if (!ok_) return 0;
  if (!v.IsNumber()) {
    type_error(std::string(name) + " must be an integer, got " + describe(v));
    return 0;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) ||
      d > static_cast<double>(hi)) {
    std::ostringstream s;
    s << name << " must be an integer in [" << lo << ", " << hi << "], got " << describe(v);
    range_error(s.str());
    return 0;
  }
  return static_cast<int32_t>(d);
}

double CallContext::number_arg(const Napi::Value& v, const char* name) {
  if (!ok_) return 0;
  if (!v.IsNumber()) {
    type_error(std::string(name) + " must be a number, got " + describe(v));
    return 0;
  }
  return v.As<Napi::Number>().DoubleValue();
}

bool CallContext::bool_arg(const Napi::Value& v, const char* name) {
  if (!ok_) return false;
  if (!v.IsBoolean()) {
    type_error(std::string(name) + " must be a boolean, got " + describe(v));
    return false;
  }
  return v.As<Napi::Boolean>().Value();
}

std::string CallContext::string_arg(const Napi::Value& v, const char* name) {
  if (!ok_) return {};
  if (!v.IsString()) {
    type_error(std::string(name) + " must be a string, got " + describe(v));
    return {};
  }
  return v.As<Napi::String>().Utf8Value();
}

DType CallContext::dtype_of(const Napi::Value& v, const char* name) {
  if (!ok_) return DType::F32;
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>().TypedArrayType();
    if (t == napi_float32_array) return DType::F32;
    if (t == napi_float64_array) return DType::F64;
  }
  type_error(std::string(name) + " must be a Float32Array or Float64Array, got " + describe(v));
  return DType::F32;
}

template <typename T>
T* CallContext::array(const Napi::Value& v, const char* name, size_t need, const char* what,
                      bool optional, bool exact) {
  if (!ok_) return nullptr;
  if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != typed_array_kind<T>()) {
    std::ostringstream s;
    s << name << " must be a " << typed_array_name<T>() << ", got " << describe(v);
    type_error(s.str());
    return nullptr;
  }
  auto ta = v.As<Napi::TypedArrayOf<T>>();
  size_t len = ta.ElementLength();
  if (exact ? len != need : len < need) {
    std::ostringstream s;
    s << name << " must have " << (exact ? "" : "at least ") << need << " elements (" << what
      << "), got " << len;
    range_error(s.str());
    return nullptr;
  }
  // Data() is already offset-adjusted for subarray views: never add ByteOffset() again.
  T* data = ta.Data();
  if (data == nullptr && need > 0) {
    range_error(std::string(name) + " is detached");
    return nullptr;
  }
  return data;
}

template float* CallContext::array<float>(const Napi::Value&, const char*, size_t, const char*, bool, bool);
template double* CallContext::array<double>(const Napi::Value&, const char*, size_t, const char*, bool, bool);
template int32_t* CallContext::array<int32_t>(const Napi::Value&, const char*, size_t, const char*, bool, bool);

}  // namespace lstm_binding
