// How the fast LSTM step runs (contract in lstm_recurrent.h): which path (fast or reference),
// which GEMM for the large products inside the LSTM, whether the input product is fused into the
// step tile, and how a step is cut among threads (rows or unit blocks, how many slices).
#include <algorithm>

#include "gemm_choice.h"
#include "kernel_config.h"
#include "lstm_recurrent.h"
#include "thread_pool.h"

namespace lstm {
namespace rec {

bool fuse_input(int B, int I, int H, int Hout) {
  const int mode = kernel_config().lstm_fuse_input;
  (void)H;
  if (B <= 1 || !fast_path_enabled()) return false;
  if (mode >= 0) return mode != 0;
  return 2 * static_cast<long long>(I) <= Hout;  // in 64 bits: I is not range-checked yet when sizing
}

bool bias_in_step(int B, int I, int H, int Hout) { return B > 1 && !fuse_input(B, I, H, Hout); }

bool split_rows(int B, int H, int K) {
  const int mode = kernel_config().lstm_split;
  if (mode >= 0) return mode == 1;
  const int n = std::min(num_threads(), 64);
  // Rows when every thread gets at least 8 (tiles of 4 rows or more: a thinner tile streams the
  // weights for too few FMAs) and the step's weights (4H x K floats), which every thread then
  // streams in full, are at most 2 MiB (beyond that every thread streaming all weights through the
  // shared L3 costs more than the per-step barrier of the units split saves).
  const double weight_bytes = 16.0 * H * K;
  return n >= 2 && B >= 8 * n && weight_bytes <= 2.0 * (1 << 20);
}

int slice_count(int blocks, double flops_per_step) {
  const double min_flops = kernel_config().lstm_min_split_flops;
  int n = std::min(num_threads(), 64);
  n = std::min(n, blocks);
  if (flops_per_step < min_flops) n = 1;
  return std::max(n, 1);
}

bool fast_path_enabled() { return !kernel_config().lstm_reference; }

bool lstm_use_builtin_gemm() { return gemm_impl_for(GemmUse::LstmForward) == GemmImpl::Builtin; }

}  // namespace rec
}  // namespace lstm
