// How the fast LSTM step runs (contract in lstm_recurrent.h): which path (fast or reference),
// which GEMM for the large products inside the LSTM, whether the input product is fused into the
// step tile, and how a step is cut among threads (rows or unit blocks, how many slices).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "lstm_recurrent.h"
#include "thread_pool.h"

namespace lstm {
namespace rec {
namespace {

const char* env_str(const char* name) {
  const char* s = std::getenv(name);
  return s && *s ? s : nullptr;
}

}  // namespace

bool fuse_input(int B, int I, int H, int Hout) {
  static const int mode = [] {
    const char* s = env_str("LSTM_NATIVE_LSTM_FUSE_INPUT");
    return s ? std::atoi(s) : -1;
  }();
  (void)H;
  if (B <= 1 || !fast_path_enabled()) return false;
  if (mode >= 0) return mode != 0;
  return 2 * I <= Hout;
}

bool bias_in_step(int B, int I, int H, int Hout) { return B > 1 && !fuse_input(B, I, H, Hout); }

bool split_rows(int B, int H, int K) {
  static const int mode = [] {
    const char* s = env_str("LSTM_NATIVE_LSTM_SPLIT");
    if (!s) return -1;
    return std::strcmp(s, "rows") == 0 ? 1 : std::strcmp(s, "units") == 0 ? 0 : -1;
  }();
  if (mode >= 0) return mode == 1;
  const int n = std::min(num_threads(), 64);
  // Rows when every thread gets at least 8 (tiles of 4 rows or more: a thinner tile streams the
  // weights for too few FMAs) and the step's weights (4H x K floats), which every thread then
  // streams in full, are at most 2 MiB. Measured (2 threads), rows/units: alternating in one
  // process, I 64 H 256 B 32 (1.25 MiB) 1.065-1.08 in three runs and its training step 1.05,
  // H 128 B 32 1.10, H 256 B 128 1.05; I = H = 512 (4 MiB) B 64 0.97-1.04, H 1024 (16 MiB) B 32
  // 0.92, B 8 1.01. In separate processes (as the bench runs), I = H = 512 B 64 favoured units by
  // 6-9% (rows had slow outliers: each thread streams twice the weights through the shared L3).
  const double weight_bytes = 16.0 * H * K;
  return n >= 2 && B >= 8 * n && weight_bytes <= 2.0 * (1 << 20);
}

int slice_count(int blocks, double flops_per_step) {
  static const double min_flops = [] {
    const char* s = env_str("LSTM_NATIVE_LSTM_MIN_SPLIT_FLOPS");
    return s ? std::atof(s) : 60000.0;
  }();
  int n = std::min(num_threads(), 64);
  n = std::min(n, blocks);
  if (flops_per_step < min_flops) n = 1;
  return std::max(n, 1);
}

bool fast_path_enabled() {
  static const bool on = [] {
    const char* s = env_str("LSTM_NATIVE_LSTM_PATH");
    return !(s && std::strcmp(s, "reference") == 0);
  }();
  return on;
}

bool lstm_use_builtin_gemm() {
  static const bool on = [] {
    const char* s = env_str("LSTM_NATIVE_LSTM_GEMM");
    return !(s && std::strcmp(s, "blas") == 0);
  }();
  return on;
}

}  // namespace rec
}  // namespace lstm
