// Picks the gates variant: per ISA for the tests, and once (for active_isa()) for the kernel.
//
// Compiled without SIMD flags. It only reads the constant GatesKernels tables that the variant
// files export, and hands out a variant's pointers only after cpu_supports() said the CPU can run
// it, so no AVX / AVX-512 instruction executes on a CPU without them.
#include <type_traits>

#include "gates.h"

namespace lstm {
namespace {

// The table of a variant that is compiled in AND runnable here, else nullptr.
const GatesKernels* kernels_for(Isa isa) {
  if (!cpu_supports(isa)) return nullptr;
  switch (isa) {
    case Isa::Scalar: return &gates_kernels_scalar;
#if defined(LSTM_NATIVE_X86)
    case Isa::Avx2: return &gates_kernels_avx2;
    case Isa::Avx512: return &gates_kernels_avx512;
#endif
#if defined(LSTM_NATIVE_ARM64)
    case Isa::Neon: return &gates_kernels_neon;
#endif
    default: return nullptr;
  }
}

}  // namespace

GatesForwardFn<float> gates_forward_for(Isa isa) {
  const GatesKernels* k = kernels_for(isa);
  return k ? k->forward : nullptr;
}

GatesBackwardFn<float> gates_backward_for(Isa isa) {
  const GatesKernels* k = kernels_for(isa);
  return k ? k->backward : nullptr;
}

ActivationFn activation_for(Isa isa, Activation kind) {
  const GatesKernels* k = kernels_for(isa);
  const int which = static_cast<int>(kind);
  if (!k || which < 0 || which > 2) return nullptr;
  return k->activation[which];
}

// Defined here and explicitly instantiated below for float and double, so other files link against
// these two instances through the declarations in gates.h. The float choice is cached: the kernel
// asks once per sequence call, and active_isa() never changes after load. active_isa() is always
// runnable, so the pointer is never null.
template <typename F>
GatesForwardFn<F> gates_forward() {
  if constexpr (std::is_same_v<F, float>) {
    static const GatesForwardFn<float> fn = gates_forward_for(active_isa());
    return fn;
  } else {
    return static_cast<GatesForwardFn<F>>(&gates_forward_scalar);
  }
}

template <typename F>
GatesBackwardFn<F> gates_backward() {
  if constexpr (std::is_same_v<F, float>) {
    static const GatesBackwardFn<float> fn = gates_backward_for(active_isa());
    return fn;
  } else {
    return static_cast<GatesBackwardFn<F>>(&gates_backward_scalar);
  }
}

template GatesForwardFn<float> gates_forward<float>();
template GatesForwardFn<double> gates_forward<double>();
template GatesBackwardFn<float> gates_backward<float>();
template GatesBackwardFn<double> gates_backward<double>();

}  // namespace lstm
