// Reads the environment knobs once (contract in kernel_config.h). Each parser keeps the default
// for an unset or empty variable; how a malformed value is read is stated per knob in the header.
#include "kernel_config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace lstm {
namespace {

const char* env_str(const char* name) {
  const char* s = std::getenv(name);
  return s && *s ? s : nullptr;
}

// A whole decimal integer in [lo, hi], else the fallback.
int env_int_strict(const char* name, int fallback, int lo, int hi) {
  const char* s = env_str(name);
  if (s == nullptr) return fallback;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return fallback;
  return static_cast<int>(v);
}

KernelConfig read_config() {
  KernelConfig c;
  if (const char* s = env_str("LSTM_NATIVE_ISA"); s && std::strlen(s) < sizeof(c.isa)) {
    std::strcpy(c.isa, s);
  }
  c.num_threads = env_int_strict("LSTM_NATIVE_NUM_THREADS", 0, 1, 1024);
  c.spin_us = env_int_strict("LSTM_NATIVE_SPIN_US", 50, 0, 1000000);
  if (const char* s = env_str("LSTM_NATIVE_LSTM_PATH")) c.lstm_reference = std::strcmp(s, "reference") == 0;
  if (const char* s = env_str("LSTM_NATIVE_LSTM_GEMM")) c.lstm_gemm_blas = std::strcmp(s, "blas") == 0;
  if (const char* s = env_str("LSTM_NATIVE_LSTM_SPLIT")) {
    c.lstm_split = std::strcmp(s, "rows") == 0 ? 1 : std::strcmp(s, "units") == 0 ? 0 : -1;
  }
  if (const char* s = env_str("LSTM_NATIVE_LSTM_FUSE_INPUT")) c.lstm_fuse_input = std::atoi(s);
  if (const char* s = env_str("LSTM_NATIVE_LSTM_HOIST_STEPS")) c.lstm_hoist_steps = std::max(1, std::atoi(s));
  if (const char* s = env_str("LSTM_NATIVE_LSTM_MIN_SPLIT_FLOPS")) c.lstm_min_split_flops = std::atof(s);
  return c;
}

}  // namespace

const KernelConfig& kernel_config() {
  static const KernelConfig config = read_config();
  return config;
}

}  // namespace lstm
