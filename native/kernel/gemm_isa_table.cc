// The built-in GEMM's kernel set per ISA (contract in gemm_driver.h), built once at first use.
// Compiled without SIMD flags: it only calls the ISA files' fill functions after cpu_supports()
// said this CPU runs them.
#include "gemm_driver.h"

#include <type_traits>

#include "isa_table.h"

namespace lstm {
namespace gemm_detail {
namespace {

// The kernels for one ISA, built once; falls back towards scalar when a variant is unavailable.
template <typename F>
struct KernelTable {
  Kernels<F> scalar, avx2, avx512;
  bool have_avx2 = false, have_avx512 = false;
  KernelTable() {
    kernels_scalar(&scalar);
    complete_kernels(&scalar);
#if defined(LSTM_NATIVE_X86)
    have_avx2 = cpu_supports(Isa::Avx2) && kernels_avx2(&avx2) && complete_kernels(&avx2);
    have_avx512 = cpu_supports(Isa::Avx512) && kernels_avx512(&avx512) && complete_kernels(&avx512);
#endif
  }
  const Kernels<F>& get(Isa isa) const {
    if (isa == Isa::Avx512 && have_avx512) return avx512;
    if ((isa == Isa::Avx512 || isa == Isa::Avx2) && have_avx2) return avx2;
    return scalar;
  }
};

template <typename F>
const KernelTable<F>& kernel_table() {
  static const KernelTable<F> table;
  return table;
}

}  // namespace

Isa gemm_builtin_active_isa() {
  static const Isa isa = [] {
    Isa a = active_isa();
    const auto& t = kernel_table<float>();
    if (a == Isa::Avx512 && t.have_avx512) return Isa::Avx512;
    if ((a == Isa::Avx512 || a == Isa::Avx2) && t.have_avx2) return Isa::Avx2;
    return Isa::Scalar;
  }();
  return isa;
}

template <typename F>
const Kernels<F>& kernels_for(Isa isa) {
  return kernel_table<F>().get(isa);
}

template <typename F>
const Kernels<F>& active_kernels() {
  if constexpr (std::is_same_v<F, float>) {
    return *isa_table().gemm_f32;
  } else {
    return *isa_table().gemm_f64;
  }
}

template const Kernels<float>& kernels_for<float>(Isa);
template const Kernels<double>& kernels_for<double>(Isa);
template const Kernels<float>& active_kernels<float>();
template const Kernels<double>& active_kernels<double>();

}  // namespace gemm_detail
}  // namespace lstm
