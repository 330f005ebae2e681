// Status codes returned by every kernel entry point. The kernel never throws, prints or aborts:
// the binding turns a non-Ok status into a JS exception with a message of its own.
#pragma once

namespace lstm {

enum class Status : int {
  Ok = 0,
  InvalidDims = 1,      // a dimension is negative, zero where it must not be, or overflows
  InvalidLength = 2,    // a lengths[b] outside [0, T]
  NullPointer = 3,      // a required buffer is missing
  OutOfMemory = 4,      // scratch allocation failed (only outside the time loop)
};

inline const char* status_message(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::InvalidDims: return "invalid dimensions";
    case Status::InvalidLength: return "a sequence length is outside [0, T]";
    case Status::NullPointer: return "a required buffer is missing";
    case Status::OutOfMemory: return "out of memory";
  }
  return "unknown status";
}

}  // namespace lstm
