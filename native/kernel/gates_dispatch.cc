// The gates variant: per ISA for the tests, and the ISA table's (isa_table.h) for the kernel.
//
// Compiled without SIMD flags. It only reads the constant GatesKernels tables that the variant
// files export, and hands out a variant's pointers only after cpu_supports() said the CPU can run
// it, so no AVX / AVX-512 instruction executes on a CPU without them.
#include <type_traits>

#include "gates.h"
#include "isa_table.h"

namespace lstm {

GatesForwardFn<float> gates_forward_for(Isa isa) {
  const GatesKernels* k = gates_kernels_for(isa);
  return k ? k->forward : nullptr;
}

GatesBackwardFn<float> gates_backward_for(Isa isa) {
  const GatesKernels* k = gates_kernels_for(isa);
  return k ? k->backward : nullptr;
}

ActivationFn activation_for(Isa isa, Activation kind) {
  const GatesKernels* k = gates_kernels_for(isa);
  const int which = static_cast<int>(kind);
  if (!k || which < 0 || which > 2) return nullptr;
  return k->activation[which];
}

// Defined here and explicitly instantiated below for float and double, so other files link against
// these two instances through the declarations in gates.h. float: the variant of the ISA table
// (isa_table.h), chosen once; double: the scalar reference.
template <typename F>
GatesForwardFn<F> gates_forward() {
  if constexpr (std::is_same_v<F, float>) {
    return isa_table().gates->forward;
  } else {
    return static_cast<GatesForwardFn<F>>(&gates_forward_scalar);
  }
}

template <typename F>
GatesBackwardFn<F> gates_backward() {
  if constexpr (std::is_same_v<F, float>) {
    return isa_table().gates->backward;
  } else {
    return static_cast<GatesBackwardFn<F>>(&gates_backward_scalar);
  }
}

template GatesForwardFn<float> gates_forward<float>();
template GatesForwardFn<double> gates_forward<double>();
template GatesBackwardFn<float> gates_backward<float>();
template GatesBackwardFn<double> gates_backward<double>();

}  // namespace lstm
