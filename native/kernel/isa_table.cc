// The one choice of kernel variants (contract in isa_table.h). Compiled without SIMD flags: it only
// reads the variant files' constant tables and hands a variant out after cpu_supports() said this
// CPU runs it, so no AVX / AVX-512 instruction executes on a CPU without them.
#include "isa_table.h"

#include <cstdlib>
#include <cstring>

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

#if defined(LSTM_NATIVE_X86)
namespace {

// The avx2 set with a 16-lane part's non-null entries over it.
rec::RecKernels widen(const rec::RecKernels& part) {
  rec::RecKernels k = rec::rec_kernels_avx2;
  k.name = part.name;
  if (part.gates_fwd8) k.gates_fwd8 = part.gates_fwd8;
  if (part.gates_fwd8_acc) k.gates_fwd8_acc = part.gates_fwd8_acc;
  if (part.gates_bwd16) k.gates_bwd16 = part.gates_bwd16;
  k.tile32 = part.tile32;
  k.tile32x2 = part.tile32x2;
  k.wide_rows = part.wide_rows;
  return k;
}

#if defined(LSTM_NATIVE_TEST_HOOKS)
// LSTM_NATIVE_STEP_KERNELS=emu512 (test build only): the emulated 16-lane part for avx2.
bool emulated_wide_requested() {
  const char* s = std::getenv("LSTM_NATIVE_STEP_KERNELS");
  return s && std::strcmp(s, "emu512") == 0;
}
#endif

}  // namespace
#endif

const rec::RecKernels& step_kernels_for(Isa isa) {
#if defined(LSTM_NATIVE_X86)
  if (isa == Isa::Avx512 && cpu_supports(isa)) {
    static const rec::RecKernels avx512 = widen(rec::rec_kernels_avx512_part);
    return avx512;
  }
  if (isa == Isa::Avx2 && cpu_supports(isa)) {
#if defined(LSTM_NATIVE_TEST_HOOKS)
    static const rec::RecKernels emu512 = widen(rec::rec_kernels_emu512_part);
    if (emulated_wide_requested()) return emu512;
#endif
    return rec::rec_kernels_avx2;
  }
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
