// The kernel's configuration: every environment knob, read once (at the first use, which the addon
// makes when it loads) and never again. Each knob overrides a choice the kernel otherwise makes by
// itself; an unset, empty or malformed value keeps that default. The README's knobs table lists them.
#pragma once

namespace lstm {

struct KernelConfig {
  // LSTM_NATIVE_ISA: the SIMD variant to use ("scalar", "avx2", "avx512", "neon"); it may only
  // lower the CPU's best (a name this CPU or build cannot run is ignored). "" when unset.
  char isa[8] = "";
  // LSTM_NATIVE_NUM_THREADS: threads of the pool (callers included), 1..1024; 0 when unset: the
  // number of cores.
  int num_threads = 0;
  // LSTM_NATIVE_SPIN_US: how long (us, 0..1000000) a pool thread spins before it sleeps; 50.
  int spin_us = 50;
  // LSTM_NATIVE_LSTM_PATH=reference: float32 LSTM calls take the reference kernels.
  bool lstm_reference = false;
  // LSTM_NATIVE_LSTM_GEMM=blas: the large products inside the LSTM go through gemm() (OpenBLAS
  // when linked) instead of the built-in GEMM on the kernel's pool.
  bool lstm_gemm_blas = false;
  // LSTM_NATIVE_LSTM_SPLIT: how a forward step is cut among threads: 1 "rows", 0 "units", -1 auto.
  int lstm_split = -1;
  // LSTM_NATIVE_LSTM_FUSE_INPUT: fold the input product into the step tile: 1 (any non-zero
  // integer) always, 0 never, -1 (unset or negative) auto.
  int lstm_fuse_input = -1;
  // LSTM_NATIVE_LSTM_HOIST_STEPS: steps per chunk of the training forward's hoisted input
  // product (values below 1 count as 1); -1 when unset: auto.
  int lstm_hoist_steps = -1;
  // LSTM_NATIVE_LSTM_MIN_SPLIT_FLOPS: FLOP per step below which a step runs on one thread.
  double lstm_min_split_flops = 60000.0;
};

// The configuration, read from the environment on the first call.
const KernelConfig& kernel_config();

}  // namespace lstm
