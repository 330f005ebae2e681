// The kernel variants every hot path dispatches to, chosen once from active_isa() (cpu_features.h,
// LSTM_NATIVE_ISA may lower it) in one place: the gates, the LSTM step kernels, the built-in GEMM's
// kernel sets and the softmax loss's loops. Each family falls back towards its portable variant when
// it has none for that ISA. The per-ISA lookups below exist for the tests, which run every variant
// this CPU supports against the portable one.
#pragma once

#include "cpu_features.h"
#include "gates.h"
#include "gemm_builtin.h"
#include "lstm_recurrent.h"

namespace lstm {

struct IsaTable {
  Isa isa;                                       // active_isa()
  const GatesKernels* gates;                     // gates.h
  const rec::RecKernels* step;                   // lstm_recurrent.h
  const gemm_detail::Kernels<float>* gemm_f32;   // gemm_builtin.h
  const gemm_detail::Kernels<double>* gemm_f64;
  Isa softmax;                                   // the build of ops_softmax_xent.cc's loops
};

// The table, built on the first call.
const IsaTable& isa_table();

// The gates variant for `isa` when it is compiled in and runnable here, else nullptr.
const GatesKernels* gates_kernels_for(Isa isa);
// The step kernels for `isa` (AVX2 on x86 for avx2 and avx512, scalar otherwise).
const rec::RecKernels& step_kernels_for(Isa isa);

}  // namespace lstm
