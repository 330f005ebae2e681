// The one choice of kernel variants (contract in isa_table.h). Compiled without SIMD flags: it only
// reads the variant files' constant tables and hands a variant out after cpu_supports() said this
// CPU runs it, so no AVX / AVX-512 instruction executes on a CPU without them.
#include "isa_table.h"

#include "gemm_driver.h"

namespace lstm {

const GatesKernels* gates_kernels_for(Isa isa) {
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

const rec::RecKernels& step_kernels_for(Isa isa) {
#if defined(LSTM_NATIVE_X86)
  if ((isa == Isa::Avx2 || isa == Isa::Avx512) && cpu_supports(isa)) return rec::rec_kernels_avx2;
#endif
  (void)isa;
  return rec::rec_kernels_scalar;
}

const IsaTable& isa_table() {
  static const IsaTable table = [] {
    const Isa isa = active_isa();  // always runnable, so gates_kernels_for never returns null here
    const Isa gemm = gemm_detail::gemm_builtin_active_isa();
    return IsaTable{isa,
                    gates_kernels_for(isa),
                    &step_kernels_for(isa),
                    &gemm_detail::kernels_for<float>(gemm),
                    &gemm_detail::kernels_for<double>(gemm),
                    isa};
  }();
  return table;
}

}  // namespace lstm
